using Veil.Broker.Keys;

namespace Veil.Broker.Admin;

/// <summary>
/// Who is calling an admin endpoint: a token whose <c>iss</c> is the configured OIDC issuer is checked against that
/// issuer's keys only; any other against the local admin keys only, so neither key set can vouch for the other's tokens.
/// </summary>
internal sealed class AdminAuthenticator(BrokerKeys keys, BrokerOptions options, RoleBindings bindings, TimeProvider time, OidcSettings? oidc, OidcKeys? oidcKeys)
{
    public const string NoToken = "admin endpoint requires 'Authorization: Bearer <admin JWT>'";

    public RoleBindings Bindings => bindings;

    public async Task<AdminTokenCheck> AuthenticateAsync(string? token, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(token))
        {
            return AdminTokenCheck.Refused(NoToken);
        }

        if (AdminTokenClaims.Parse(token) is not { } parsed)
        {
            return AdminTokenCheck.Refused(AdminTokenClaims.Malformed);
        }

        if (oidc is not null && oidcKeys is not null && parsed.Claim("iss") == oidc.Issuer)
        {
            return await OidcTokens.VerifyAsync(parsed, oidc, oidcKeys, bindings, time, ct).ConfigureAwait(false);
        }

        return await AdminTokens.VerifyAsync(parsed, keys.AdminEcKeys, keys.AdminEd25519Keys, time, options.AdminAudience).ConfigureAwait(false);
    }

    /// <summary>A subject is stored in every audit row it causes: bounded, and no control characters in log lines.</summary>
    public static string? SubjectError(string subject) =>
        subject.Length is 0 or > RoleBindings.MaxSubject || subject.Any(char.IsControl)
            ? $"admin token's subject ('sub') must be 1 to {RoleBindings.MaxSubject} characters without control characters"
            : null;
}
