using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Veil.Broker.Admin;
using Veil.Broker.Limits;
using Veil.Broker.Problems;
using Veil.Broker.Storage;
using Veil.Protocol;
using Veil.Protocol.Messages;

namespace Veil.Broker.Endpoints;

/// <summary>
/// Admin API (bearer JWT: a local admin key's or the OIDC issuer's): resources, policies, reference values, audit. Each
/// endpoint names what it touches (<see cref="AdminAccess"/>) and <see cref="AdminGuard"/> admits only the roles that
/// cover it. A policy or reference value is validated in full before it is stored and takes effect. Every call and
/// every refusal is audited with the caller's subject.
/// </summary>
internal static class AdminEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        RouteGroupBuilder Group(AdminAccess access) => app.MapGroup("").AddEndpointFilter(AdminGuard.Require(access)).RequireRateLimiting(RateLimits.AdminPolicy);
        ResourceAdminEndpoints.Map(Group(AdminAccess.Repository), Group(AdminAccess.ResourceList));
        PolicyAdminEndpoints.Map(Group(AdminAccess.Policies), Group(AdminAccess.GlobalResourcePolicy), Group(AdminAccess.Repository));
        Group(AdminAccess.AuditRead).MapGet("/veil/v0/audit", AuditEndpoints.ReadAsync);
    }

    /// <summary>An admin change's audit row: retained, naming the subject and the repository it concerns.</summary>
    public static AuditEntry Change(HttpContext http, string action, string? resource, string? repository, string outcome, string reason) =>
        new(default, "admin", action, resource, null, outcome, reason, AuditKind.AdminChange, AdminGuard.Identity(http).Subject, repository);

    public static async Task<(JsonDocument? Doc, IResult? Error)> ReadJsonAsync(HttpContext http)
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

    public static string? DecodePolicy(JsonElement root)
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
