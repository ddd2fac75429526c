using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Veil.Broker.Admin;
using Veil.Broker.Audit;
using Veil.Broker.Metrics;
using Veil.Broker.Problems;
using Veil.Broker.Storage;

namespace Veil.Broker.Endpoints;

/// <summary>What an admin endpoint touches, which decides the roles it takes (<see cref="AdminGuard.Forbidden"/>).</summary>
internal enum AdminAccess
{
    /// <summary>A resource or the resource policy of the route's <c>{repository}</c>: admin, or its tenant admin.</summary>
    Repository,

    /// <summary>The resource list: admin (all), tenant admins (theirs).</summary>
    ResourceList,

    /// <summary>The global resource policy: admin only, since it bounds every tenant.</summary>
    GlobalResourcePolicy,

    /// <summary>Attestation policies and reference values: admin, policy-admin.</summary>
    Policies,

    /// <summary>The audit log: admin and auditor (all rows), tenant admins (their repositories' rows).</summary>
    AuditRead,
}

/// <summary>
/// The filter in front of every admin endpoint: the bearer token must verify (401 otherwise, an unauthenticated audit
/// row) and its subject's roles must cover the endpoint (403 otherwise, an audit row naming the subject). The identity
/// is then handed to the handler through <see cref="Identity"/>.
/// </summary>
internal static class AdminGuard
{
    private const string IdentityKey = "veil.admin-identity";

    public static Func<EndpointFilterInvocationContext, EndpointFilterDelegate, ValueTask<object?>> Require(AdminAccess access) =>
        (context, next) => CheckAsync(context, next, access);

    /// <summary>The caller the guard admitted (only ever called behind it).</summary>
    public static AdminIdentity Identity(HttpContext http) => (AdminIdentity)http.Items[IdentityKey]!;

    /// <summary>Why <paramref name="identity"/> may not make a call of <paramref name="access"/>, or null when it may.</summary>
    public static string? Forbidden(AdminIdentity identity, AdminAccess access, string? repository)
    {
        var who = $"subject '{CallerText.Echo(identity.Subject)}'";
        if (identity.Roles.Count == 0)
        {
            return $"{who} has no role on this broker (no admin-roles entry binds it)";
        }

        var roles = $"{who} (roles: {identity.RoleList})";
        return access switch
        {
            AdminAccess.Repository when repository is null || !identity.ManagesRepository(repository) =>
                $"{roles} may not manage repository '{CallerText.Echo(repository)}': that takes admin or tenant-admin:{CallerText.Echo(repository)}",
            AdminAccess.ResourceList when identity.ResourceScope is { Count: 0 } => $"{roles} may not list resources: that takes admin or tenant-admin",
            AdminAccess.GlobalResourcePolicy when !identity.IsAdmin => $"{roles} may not read or set the global resource policy: that takes admin",
            AdminAccess.Policies when !identity.ManagesPolicies => $"{roles} may not change attestation policies or reference values: that takes admin or policy-admin",
            AdminAccess.AuditRead when identity.AuditScope is { Count: 0 } => $"{roles} may not read the audit log: that takes admin, auditor or tenant-admin",
            _ => null,
        };
    }

    private static async ValueTask<object?> CheckAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next, AdminAccess access)
    {
        var http = context.HttpContext;
        var services = http.RequestServices;
        var metrics = services.GetRequiredService<BrokerMetrics>();
        var audit = services.GetRequiredService<AuditLog>();
        // The route's pattern, not the request's path: the action is one of a fixed set, whatever was sent.
        var action = "admin " + http.Request.Method + " " + (http.GetEndpoint() is RouteEndpoint e ? e.RoutePattern.RawText : "?");
        var check = await services.GetRequiredService<AdminAuthenticator>().AuthenticateAsync(HttpBodies.BearerToken(http.Request), http.RequestAborted).ConfigureAwait(false);
        if (check.Identity is not { } identity)
        {
            metrics.Admin(AdminOutcome.Unauthorized);
            await audit.RecordAsync(AuditKind.Unauthenticated, "anonymous", action, null, null, AuditLog.Denied, check.Refusal!, http.RequestAborted).ConfigureAwait(false);
            return KbsProblem.Unauthorized("AdminAuthFailed", check.Refusal!);
        }

        var repository = http.Request.RouteValues.TryGetValue("repository", out var r) ? r as string : null;
        if (Forbidden(identity, access, repository) is { } why)
        {
            metrics.Admin(AdminOutcome.Forbidden);
            await audit.RecordAsync(
                new AuditEntry(default, "admin", action, null, null, AuditLog.Denied, why, AuditKind.Decision, identity.Subject, repository), http.RequestAborted).ConfigureAwait(false);
            return KbsProblem.Create(StatusCodes.Status403Forbidden, "AdminForbidden", why);
        }

        metrics.Admin(AdminOutcome.Authorized);
        http.Items[IdentityKey] = identity;
        return await next(context).ConfigureAwait(false);
    }
}
