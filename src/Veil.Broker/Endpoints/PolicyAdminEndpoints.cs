using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Veil.Broker.Appraisal;
using Veil.Broker.Audit;
using Veil.Broker.Problems;
using Veil.Policy;
using Veil.Policy.Appraisal;
using Veil.Policy.Resources;

namespace Veil.Broker.Endpoints;

/// <summary>
/// Attestation policies and reference values (admin, policy-admin); the global resource policy (admin); a repository's
/// own resource policy (admin, its tenant admin), which adds to the global one (<see cref="TenantResourcePolicies"/>).
/// </summary>
internal static class PolicyAdminEndpoints
{
    public static void Map(RouteGroupBuilder policies, RouteGroupBuilder global, RouteGroupBuilder repository)
    {
        policies.MapPost("/kbs/v0/attestation-policy", SetAttestationPolicyAsync);
        policies.MapPost("/kbs/v0/reference-value", AddReferenceValueAsync);
        global.MapPost("/kbs/v0/resource-policy", SetResourcePolicyAsync);
        global.MapGet("/kbs/v0/resource-policy", (BrokerPolicies p) => Results.Json(Describe(p.ResourcePolicy)));
        repository.MapPost("/veil/v0/resource-policy/{repository}", SetTenantResourcePolicyAsync);
        repository.MapGet("/veil/v0/resource-policy/{repository}", GetTenantResourcePolicy);
    }

    private static async Task<IResult> SetAttestationPolicyAsync(HttpContext http, BrokerPolicies policies, AuditLog audit, TimeProvider time)
    {
        var (doc, error) = await AdminEndpoints.ReadJsonAsync(http).ConfigureAwait(false);
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

            if (AdminEndpoints.DecodePolicy(root) is not { } policy)
            {
                return KbsProblem.BadRequest("InvalidPolicy", "policy: missing or not base64url (no padding)");
            }

            // Validated, then stored, then in effect: a store outage leaves nothing half-applied.
            return await ApplyAsync(http, audit, "set attestation-policy", id, null, () => policies.SetAttestationPolicyAsync(id, policy, time.GetUtcNow(), http.RequestAborted)).ConfigureAwait(false);
        }
    }

    private static async Task<IResult> SetResourcePolicyAsync(HttpContext http, BrokerPolicies policies, AuditLog audit, TimeProvider time)
    {
        var (policy, error) = await ReadPolicyAsync(http).ConfigureAwait(false);
        return policy is null
            ? error!
            : await ApplyAsync(http, audit, "set resource-policy", null, null, () => policies.SetResourcePolicyAsync(policy, time.GetUtcNow(), http.RequestAborted)).ConfigureAwait(false);
    }

    private static async Task<IResult> SetTenantResourcePolicyAsync(string repository, HttpContext http, BrokerPolicies policies, AuditLog audit, TimeProvider time)
    {
        if (!ResourcePath.IsSegment(repository))
        {
            return KbsProblem.BadRequest("InvalidResourcePath", $"repository '{CallerText.Echo(repository, 64)}' is not allowed: use letters, digits, '.', '_' and '-' only");
        }

        var (policy, error) = await ReadPolicyAsync(http).ConfigureAwait(false);
        return policy is null
            ? error!
            : await ApplyAsync(http, audit, "set repository resource-policy", repository, repository,
                () => policies.SetTenantResourcePolicyAsync(repository, policy, time.GetUtcNow(), http.RequestAborted)).ConfigureAwait(false);
    }

    private static IResult GetTenantResourcePolicy(string repository, BrokerPolicies policies) =>
        policies.TenantResourcePolicy(repository) is { } p
            ? Results.Json(Describe(p))
            : KbsProblem.Create(StatusCodes.Status404NotFound, "ResourcePolicyNotFound", $"repository '{CallerText.Echo(repository, 64)}' has no resource policy of its own: the global one alone decides its releases");

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

        IReadOnlyList<Veil.Policy.ReferenceValues.ReferenceValueSet> sets;
        try
        {
            sets = await policies.AddReferenceValuesAsync(text, time.GetUtcNow(), http.RequestAborted).ConfigureAwait(false);
        }
        catch (PolicyLoadException e)
        {
            return KbsProblem.BadRequest("InvalidReferenceValue", e.Message);
        }

        var summary = string.Join(", ", sets.Select(s => $"{s.Name} ({s.Values.Count})"));
        await audit.RecordAsync(AdminEndpoints.Change(http, "add reference-value", null, null, AuditLog.Allowed, "added " + summary), http.RequestAborted).ConfigureAwait(false);
        return Results.Json(new Dictionary<string, object> { ["sets"] = sets.Select(s => new Dictionary<string, object> { ["name"] = s.Name, ["values"] = s.Values.Count }).ToList() });
    }

    /// <summary>Runs a validate-store-apply write and audits it: refused with the loader's reason, or in effect.</summary>
    private static async Task<IResult> ApplyAsync(HttpContext http, AuditLog audit, string action, string? resource, string? repository, Func<Task> write)
    {
        try
        {
            await write().ConfigureAwait(false);
        }
        catch (PolicyLoadException e)
        {
            await audit.RecordAsync(AdminEndpoints.Change(http, action, resource, repository, AuditLog.Denied, e.Message), http.RequestAborted).ConfigureAwait(false);
            return KbsProblem.BadRequest("InvalidPolicy", e.Message);
        }

        await audit.RecordAsync(AdminEndpoints.Change(http, action, resource, repository, AuditLog.Allowed, "validated, stored and in effect"), http.RequestAborted).ConfigureAwait(false);
        return Results.Ok();
    }

    private static async Task<(string? Policy, IResult? Error)> ReadPolicyAsync(HttpContext http)
    {
        var (doc, error) = await AdminEndpoints.ReadJsonAsync(http).ConfigureAwait(false);
        if (error is not null)
        {
            return (null, error);
        }

        using (doc)
        {
            return AdminEndpoints.DecodePolicy(doc!.RootElement) is { } policy
                ? (policy, null)
                : (null, KbsProblem.BadRequest("InvalidPolicy", "policy: missing or not base64url (no padding)"));
        }
    }

    /// <summary>A resource policy's rules, as the broker reads them.</summary>
    private static Dictionary<string, object> Describe(ResourcePolicy p)
    {
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

        return body;
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
}
