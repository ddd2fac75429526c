using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Veil.Broker.Admin;
using Veil.Broker.Audit;
using Veil.Broker.Keys;
using Veil.Broker.Metrics;
using Veil.Broker.Problems;
using Veil.Broker.Secrets;
using Veil.Broker.Storage;

namespace Veil.Broker.Endpoints;

/// <summary>
/// Admin API (bearer JWT signed by the admin key): resources, policies, reference values. Policies are stored
/// as given; evaluating them is issue 6. Every call and every refusal is audited.
/// </summary>
internal static class AdminEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("").AddEndpointFilter(RequireAdminAsync);
        admin.MapPost("/kbs/v0/resource/{repository}/{type}/{tag}", PutResourceAsync);
        admin.MapDelete("/kbs/v0/resource/{repository}/{type}/{tag}", DeleteResourceAsync);
        admin.MapGet("/veil/v0/resources", ListResourcesAsync);
        admin.MapPost("/kbs/v0/attestation-policy", SetAttestationPolicyAsync);
        admin.MapPost("/kbs/v0/resource-policy", SetResourcePolicyAsync);
        admin.MapGet("/kbs/v0/resource-policy", ListResourcePoliciesAsync);
        admin.MapPost("/kbs/v0/reference-value", AddReferenceValueAsync);
    }

    private static async ValueTask<object?> RequireAdminAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var services = http.RequestServices;
        var keys = services.GetService(typeof(BrokerKeys)) as BrokerKeys;
        var time = (TimeProvider)services.GetService(typeof(TimeProvider))!;
        var metrics = (BrokerMetrics)services.GetService(typeof(BrokerMetrics))!;
        var why = await AdminTokens.ValidateAsync(HttpBodies.BearerToken(http.Request), keys!.AdminPublicKey, time).ConfigureAwait(false);
        if (why is not null)
        {
            metrics.AdminRequests.Add(1, new KeyValuePair<string, object?>("outcome", "unauthorized"));
            var audit = (AuditLog)services.GetService(typeof(AuditLog))!;
            await audit.RecordAsync("anonymous", "admin " + http.Request.Method + " " + http.Request.Path, null, null, AuditLog.Denied, why, http.RequestAborted).ConfigureAwait(false);
            return KbsProblem.Unauthorized("AdminAuthFailed", why);
        }

        metrics.AdminRequests.Add(1, new KeyValuePair<string, object?>("outcome", "authorized"));
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
        await store.PutResourceAsync(name, masterKey.Seal(value.Span, name), time.GetUtcNow(), http.RequestAborted).ConfigureAwait(false);
        await audit.RecordAsync("admin", "put", name, null, AuditLog.Allowed, $"stored {value.Length} bytes", http.RequestAborted).ConfigureAwait(false);
        return Results.Ok();
    }

    private static async Task<IResult> DeleteResourceAsync(string repository, string type, string tag, HttpContext http, IBrokerStore store, AuditLog audit)
    {
        if (ResourcePath.Validate(repository, type, tag, out var name) is { } pathError)
        {
            return KbsProblem.BadRequest("InvalidResourcePath", pathError);
        }

        var deleted = await store.DeleteResourceAsync(name, http.RequestAborted).ConfigureAwait(false);
        await audit.RecordAsync("admin", "delete", name, null, deleted ? AuditLog.Allowed : AuditLog.Denied, deleted ? "deleted" : "no such resource", http.RequestAborted).ConfigureAwait(false);
        return deleted ? Results.Ok() : KbsProblem.Create(StatusCodes.Status404NotFound, "ResourceNotFound", $"resource '{name}' does not exist");
    }

    private static async Task<IResult> ListResourcesAsync(IBrokerStore store, CancellationToken ct)
    {
        var list = await store.ListResourcesAsync(ct).ConfigureAwait(false);
        return Results.Json(list.Select(r => new Dictionary<string, string> { ["name"] = r.Name, ["updated_at"] = r.UpdatedAt.ToString("O") }));
    }

    private static async Task<IResult> SetAttestationPolicyAsync(HttpContext http, IBrokerStore store, AuditLog audit, TimeProvider time)
    {
        var (doc, error) = await ReadJsonAsync(http).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        using (doc)
        {
            var root = doc!.RootElement;
            if (!root.TryGetProperty("policy_id", out var id) || id.ValueKind != JsonValueKind.String || id.GetString()!.Length == 0)
            {
                return KbsProblem.BadRequest("InvalidPolicy", "policy_id: missing or not a non-empty string");
            }

            if (DecodePolicy(root) is not { } policy)
            {
                return KbsProblem.BadRequest("InvalidPolicy", "policy: missing or not base64url (no padding)");
            }

            await store.PutPolicyAsync("attestation", id.GetString()!, policy, time.GetUtcNow(), http.RequestAborted).ConfigureAwait(false);
            await audit.RecordAsync("admin", "set attestation-policy", id.GetString(), null, AuditLog.Allowed, "stored (evaluated once the policy engine lands)", http.RequestAborted).ConfigureAwait(false);
            return Results.Ok();
        }
    }

    private static async Task<IResult> SetResourcePolicyAsync(HttpContext http, IBrokerStore store, AuditLog audit, TimeProvider time)
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

            await store.PutPolicyAsync("resource", "resource-policy", policy, time.GetUtcNow(), http.RequestAborted).ConfigureAwait(false);
            await audit.RecordAsync("admin", "set resource-policy", null, null, AuditLog.Allowed, "stored (evaluated once the policy engine lands)", http.RequestAborted).ConfigureAwait(false);
            return Results.Ok();
        }
    }

    private static async Task<IResult> ListResourcePoliciesAsync(IBrokerStore store, CancellationToken ct) =>
        Results.Json(await store.ListPolicyIdsAsync("resource", ct).ConfigureAwait(false));

    private static async Task<IResult> AddReferenceValueAsync(HttpContext http, IBrokerStore store, AuditLog audit, TimeProvider time)
    {
        var (doc, error) = await ReadJsonAsync(http).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        using (doc)
        {
            var root = doc!.RootElement;
            foreach (var field in new[] { "version", "type", "payload" })
            {
                if (!root.TryGetProperty(field, out var v) || v.ValueKind != JsonValueKind.String)
                {
                    return KbsProblem.BadRequest("InvalidReferenceValue", $"{field}: missing or not a string (RVPS message {{version, type, payload}})");
                }
            }

            if (root.GetProperty("version").GetString() != "0.1.0")
            {
                return KbsProblem.BadRequest("InvalidReferenceValue", $"version: expected '0.1.0', got '{root.GetProperty("version").GetString()}'");
            }

            await store.PutReferenceValueAsync(root.GetRawText(), time.GetUtcNow(), http.RequestAborted).ConfigureAwait(false);
            await audit.RecordAsync("admin", "add reference-value", root.GetProperty("type").GetString(), null, AuditLog.Allowed, "stored", http.RequestAborted).ConfigureAwait(false);
            return Results.Ok();
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
            var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                doc.Dispose();
                return (null, KbsProblem.BadRequest("InvalidRequest", "body: expected a JSON object"));
            }

            return (doc, null);
        }
        catch (JsonException)
        {
            return (null, KbsProblem.BadRequest("InvalidRequest", "body: not valid JSON"));
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
