using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Veil.Broker.Audit;
using Veil.Broker.Problems;
using Veil.Broker.Secrets;
using Veil.Broker.Storage;

namespace Veil.Broker.Endpoints;

/// <summary>Resources: store, delete (admin or the repository's tenant admin), list (filtered to the caller's repositories).</summary>
internal static class ResourceAdminEndpoints
{
    public static void Map(RouteGroupBuilder repository, RouteGroupBuilder list)
    {
        repository.MapPost("/kbs/v0/resource/{repository}/{type}/{tag}", PutAsync);
        repository.MapDelete("/kbs/v0/resource/{repository}/{type}/{tag}", DeleteAsync);
        list.MapGet("/veil/v0/resources", ListAsync);
    }

    private static async Task<IResult> PutAsync(string repository, string type, string tag, HttpContext http, IBrokerStore store, MasterKey masterKey, AuditLog audit, TimeProvider time)
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
        await audit.RecordAsync(AdminEndpoints.Change(http, "put", name, repository, AuditLog.Allowed, $"stored {value.Length} bytes"), http.RequestAborted).ConfigureAwait(false);
        return Results.Ok();
    }

    private static async Task<IResult> DeleteAsync(string repository, string type, string tag, HttpContext http, IBrokerStore store, AuditLog audit)
    {
        if (ResourcePath.Validate(repository, type, tag, out var name) is { } pathError)
        {
            return KbsProblem.BadRequest("InvalidResourcePath", pathError);
        }

        var deleted = await store.DeleteResourceAsync(name, http.RequestAborted).ConfigureAwait(false);
        await audit.RecordAsync(AdminEndpoints.Change(http, "delete", name, repository, deleted ? AuditLog.Allowed : AuditLog.Denied, deleted ? "deleted" : "no such resource"), http.RequestAborted).ConfigureAwait(false);
        return deleted ? Results.Ok() : KbsProblem.Create(StatusCodes.Status404NotFound, "ResourceNotFound", $"resource '{name}' does not exist");
    }

    private static async Task<IResult> ListAsync(HttpContext http, IBrokerStore store, CancellationToken ct)
    {
        var scope = AdminGuard.Identity(http).ResourceScope;
        var list = await store.ListResourcesAsync(ct).ConfigureAwait(false);
        return Results.Json(list
            .Where(r => scope is null || scope.Contains(Appraisal.TenantResourcePolicies.RepositoryOf(r.Name), StringComparer.Ordinal))
            .Select(r => new Dictionary<string, string> { ["name"] = r.Name, ["updated_at"] = r.UpdatedAt.ToString("O") }));
    }
}
