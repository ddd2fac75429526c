using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Veil.Broker.Admin;
using Veil.Broker.Appraisal;
using Veil.Broker.Audit;
using Veil.Broker.Keys;
using Veil.Broker.Limits;
using Veil.Broker.Metrics;
using Veil.Broker.Problems;
using Veil.Broker.Secrets;
using Veil.Broker.Storage;
using Veil.Policy;
using Veil.Policy.Appraisal;
using Veil.Policy.Resources;
using Veil.Protocol;
using Veil.Protocol.Messages;

namespace Veil.Broker.Endpoints;

/// <summary>
/// Admin API (bearer JWT signed by the admin key): resources, policies, reference values. A policy or reference
/// value is validated in full before it is stored and takes effect. Every call and every refusal is audited.
/// </summary>
internal static class AdminEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("").AddEndpointFilter(RequireAdminAsync).RequireRateLimiting(RateLimits.AdminPolicy);
        admin.MapPost("/kbs/v0/resource/{repository}/{type}/{tag}", PutResourceAsync);
        admin.MapDelete("/kbs/v0/resource/{repository}/{type}/{tag}", DeleteResourceAsync);
        admin.MapGet("/veil/v0/resources", ListResourcesAsync);
        admin.MapPost("/kbs/v0/attestation-policy", SetAttestationPolicyAsync);
        admin.MapPost("/kbs/v0/resource-policy", SetResourcePolicyAsync);
        admin.MapGet("/kbs/v0/resource-policy", GetResourcePolicy);
        admin.MapPost("/kbs/v0/reference-value", AddReferenceValueAsync);
    }

    private static async ValueTask<object?> RequireAdminAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var services = http.RequestServices;
        var keys = services.GetService(typeof(BrokerKeys)) as BrokerKeys;
        var time = (TimeProvider)services.GetService(typeof(TimeProvider))!;
        var metrics = (BrokerMetrics)services.GetService(typeof(BrokerMetrics))!;
        var options = (BrokerOptions)services.GetService(typeof(BrokerOptions))!;
        var why = await AdminTokens.ValidateAsync(HttpBodies.BearerToken(http.Request), keys!.AdminEcKeys, keys.AdminEd25519Keys, time, options.AdminAudience).ConfigureAwait(false);
        if (why is not null)
        {
            metrics.Admin(AdminOutcome.Unauthorized);
            var audit = (AuditLog)services.GetService(typeof(AuditLog))!;
            // The route's pattern, not the request's path: the action is one of a fixed set, whatever was sent.
            var route = http.GetEndpoint() is RouteEndpoint e ? e.RoutePattern.RawText : null;
            await audit.RecordAsync(AuditKind.Unauthenticated, "anonymous", "admin " + http.Request.Method + " " + (route ?? "?"), null, null, AuditLog.Denied, why, http.RequestAborted).ConfigureAwait(false);
            return KbsProblem.Unauthorized("AdminAuthFailed", why);
        }

        metrics.Admin(AdminOutcome.Authorized);
        return await next(context).ConfigureAwait(false);
    }

    private static async Task<IResult> PutResourceAsync(string repository, string type, string tag, HttpContext http, IBrokerStore store, MasterKey masterKey, AuditLog audit, TimeProvider time)
    {
        if (ResourcePath.Validate(repository, type, tag, out var name) is { } pathError)
        {
            return KbsProblem.BadRequest("InvalidResourcePath", pathError);
        }

        var body = await HttpBodies.ReadAsync(http.Request, http.RequestAborted).ConfigureAwait(false);
        if (body is null)
        {
            return KbsProblem.Create(StatusCodes.Status413PayloadTooLarge, "PayloadTooLarge", $"resource exceeds {HttpBodies.MaxBytes} bytes");
        }

        using var value = new SecretBytes(body);
        await store.PutResourceAsync(name, await masterKey.SealAsync(body, name, http.RequestAborted).ConfigureAwait(false), time.GetUtcNow(), http.RequestAborted).ConfigureAwait(false);
        await audit.RecordAsync(AuditKind.AdminChange, "admin", "put", name, null, AuditLog.Allowed, $"stored {value.Length} bytes", http.RequestAborted).ConfigureAwait(false);
        return Results.Ok();
    }

    private static async Task<IResult> DeleteResourceAsync(string repository, string type, string tag, HttpContext http, IBrokerStore store, AuditLog audit)
    {
        if (ResourcePath.Validate(repository, type, tag, out var name) is { } pathError)
        {
            return KbsProblem.BadRequest("InvalidResourcePath", pathError);
        }

        var deleted = await store.DeleteResourceAsync(name, http.RequestAborted).ConfigureAwait(false);
        await audit.RecordAsync(AuditKind.AdminChange, "admin", "delete", name, null, deleted ? AuditLog.Allowed : AuditLog.Denied, deleted ? "deleted" : "no such resource", http.RequestAborted).ConfigureAwait(false);
        return deleted ? Results.Ok() : KbsProblem.Create(StatusCodes.Status404NotFound, "ResourceNotFound", $"resource '{name}' does not exist");
    }

    private static async Task<IResult> ListResourcesAsync(IBrokerStore store, CancellationToken ct)
    {
        var list = await store.ListResourcesAsync(ct).ConfigureAwait(false);
        return Results.Json(list.Select(r => new Dictionary<string, string> { ["name"] = r.Name, ["updated_at"] = r.UpdatedAt.ToString("O") }));
    }

    private static async Task<IResult> SetAttestationPolicyAsync(HttpContext http, BrokerPolicies policies, AuditLog audit, TimeProvider time)
    {
        var (doc, error) = await ReadJsonAsync(http).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        using (doc)
        {
            var root = doc!.RootElement;
            if (!root.TryGetProperty("policy_id", out var idElement) || idElement.ValueKind != JsonValueKind.String || idElement.GetString() is not { Length: > 0 and <= 64 } id
                || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                return KbsProblem.BadRequest("InvalidPolicy", "policy_id: missing, or not 1-64 characters of letters, digits, '-', '_', '.'");
            }

            if (root.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() is { } t && t != "veil")
            {
                return KbsProblem.BadRequest("InvalidPolicy", $"type: '{CallerText.Echo(t)}' policies are not supported; Veil policies are YAML or JSON documents (apiVersion: veil.dev/v1, kind: AttestationPolicy) with type 'veil' or no type");
            }

            if (DecodePolicy(root) is not { } policy)
            {
                return KbsProblem.BadRequest("InvalidPolicy", "policy: missing or not base64url (no padding)");
            }

            try
            {
                // Validated, then stored, then in effect: a store outage leaves nothing half-applied.
                await policies.SetAttestationPolicyAsync(id, policy, time.GetUtcNow(), http.RequestAborted).ConfigureAwait(false);
            }
            catch (PolicyLoadException e)
            {
                await audit.RecordAsync(AuditKind.AdminChange, "admin", "set attestation-policy", id, null, AuditLog.Denied, e.Message, http.RequestAborted).ConfigureAwait(false);
                return KbsProblem.BadRequest("InvalidPolicy", e.Message);
            }

            await audit.RecordAsync(AuditKind.AdminChange, "admin", "set attestation-policy", id, null, AuditLog.Allowed, "validated, stored and in effect", http.RequestAborted).ConfigureAwait(false);
            return Results.Ok();
        }
    }

    private static async Task<IResult> SetResourcePolicyAsync(HttpContext http, BrokerPolicies policies, AuditLog audit, TimeProvider time)
    {
        var (doc, error) = await ReadJsonAsync(http).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        using (doc)
        {
            if (DecodePolicy(doc!.RootElement) is not { } policy)
            {
                return KbsProblem.BadRequest("InvalidPolicy", "policy: missing or not base64url (no padding)");
            }

            try
            {
                await policies.SetResourcePolicyAsync(policy, time.GetUtcNow(), http.RequestAborted).ConfigureAwait(false);
            }
            catch (PolicyLoadException e)
            {
                await audit.RecordAsync(AuditKind.AdminChange, "admin", "set resource-policy", null, null, AuditLog.Denied, e.Message, http.RequestAborted).ConfigureAwait(false);
                return KbsProblem.BadRequest("InvalidPolicy", e.Message);
            }

            await audit.RecordAsync(AuditKind.AdminChange, "admin", "set resource-policy", null, null, AuditLog.Allowed, "validated, stored and in effect", http.RequestAborted).ConfigureAwait(false);
            return Results.Ok();
        }
    }

    /// <summary>The resource policy in effect: its rules, as the broker reads them.</summary>
    private static IResult GetResourcePolicy(BrokerPolicies policies)
    {
        var p = policies.ResourcePolicy;
        static Dictionary<string, object> Rule(ResourceRule r) => new()
        {
            ["path"] = r.Pattern,
            ["attestation_policy"] = r.AttestationPolicy,
            ["minimum_status"] = AppraisalResult.StatusName(r.MinimumStatus),
            ["require"] = r.Require.Select(c => c.Name).ToList(),
            ["source"] = r.Source.ToString(),
        };
        var body = new Dictionary<string, object>
        {
            ["source"] = p.File,
            ["resources"] = p.Rules.Select(Rule).ToList(),
        };
        if (p.Default is { } d)
        {
            body["default"] = Rule(d);
        }

        return Results.Json(body);
    }

    /// <summary>
    /// Takes a Veil ReferenceValues document (YAML or JSON: named sets with provenance and expiry) or the
    /// Confidential Containers RVPS message <c>{"version":"0.1.0","type":"sample","payload":"..."}</c>.
    /// </summary>
    private static async Task<IResult> AddReferenceValueAsync(HttpContext http, BrokerPolicies policies, AuditLog audit, TimeProvider time)
    {
        var body = await HttpBodies.ReadAsync(http.Request, http.RequestAborted).ConfigureAwait(false);
        if (body is null)
        {
            return KbsProblem.Create(StatusCodes.Status413PayloadTooLarge, "PayloadTooLarge", $"body exceeds {HttpBodies.MaxBytes} bytes");
        }

        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(body);
        }
        catch (DecoderFallbackException)
        {
            return KbsProblem.BadRequest("InvalidReferenceValue", "body: not UTF-8 text");
        }

        if (RvpsVersionError(text) is { } versionError)
        {
            return KbsProblem.BadRequest("InvalidReferenceValue", versionError);
        }

        var now = time.GetUtcNow();
        IReadOnlyList<Veil.Policy.ReferenceValues.ReferenceValueSet> sets;
        try
        {
            sets = await policies.AddReferenceValuesAsync(text, now, http.RequestAborted).ConfigureAwait(false);
        }
        catch (PolicyLoadException e)
        {
            return KbsProblem.BadRequest("InvalidReferenceValue", e.Message);
        }

        var summary = string.Join(", ", sets.Select(s => $"{s.Name} ({s.Values.Count})"));
        await audit.RecordAsync(AuditKind.AdminChange, "admin", "add reference-value", null, null, AuditLog.Allowed, "added " + summary, http.RequestAborted).ConfigureAwait(false);
        return Results.Json(new Dictionary<string, object> { ["sets"] = sets.Select(s => new Dictionary<string, object> { ["name"] = s.Name, ["values"] = s.Values.Count }).ToList() });
    }

    /// <summary>The RVPS message's version must be the one CoCo tools send; other documents pass through.</summary>
    private static string? RvpsVersionError(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("payload", out _))
            {
                return null;
            }

            return root.TryGetProperty("version", out var v) && v.ValueKind == JsonValueKind.String && v.GetString() == "0.1.0"
                ? null
                : $"version: expected '0.1.0' (RVPS message {{version, type, payload}}), got {(root.TryGetProperty("version", out var got) ? CallerText.Echo(got.GetRawText()) : "none")}";
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static async Task<(JsonDocument? Doc, IResult? Error)> ReadJsonAsync(HttpContext http)
    {
        var body = await HttpBodies.ReadAsync(http.Request, http.RequestAborted).ConfigureAwait(false);
        if (body is null)
        {
            return (null, KbsProblem.Create(StatusCodes.Status413PayloadTooLarge, "PayloadTooLarge", $"body exceeds {HttpBodies.MaxBytes} bytes"));
        }

        try
        {
            var doc = KbsJson.ParseStrict(body, "body");
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                doc.Dispose();
                return (null, KbsProblem.BadRequest("InvalidRequest", "body: expected a JSON object"));
            }

            return (doc, null);
        }
        catch (ProtocolFormatException e)
        {
            return (null, KbsProblem.BadRequest("InvalidRequest", e.Message));
        }
    }

    private static string? DecodePolicy(JsonElement root)
    {
        if (!root.TryGetProperty("policy", out var p) || p.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        try
        {
            return Encoding.UTF8.GetString(Base64Url.DecodeFromChars(p.GetString()));
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
