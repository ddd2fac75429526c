using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Veil.Broker.Problems;

namespace Veil.Broker.Admin;

/// <summary>
/// OIDC admin tokens: signed by the issuer's key (Microsoft.IdentityModel checks signature, algorithm, issuer and
/// audience), with the same claim and time rules as local tokens (<see cref="AdminTokenClaims"/>), a subject, and the
/// roles <see cref="RoleBindings"/> gives that subject. A role claim in the token is ignored: the issuer says who, the
/// broker's config says what.
/// </summary>
internal static class OidcTokens
{
    public static async Task<AdminTokenCheck> VerifyAsync(ParsedAdminToken token, OidcSettings settings, OidcKeys keys, RoleBindings bindings, TimeProvider time, CancellationToken ct)
    {
        if (AdminTokenClaims.ShapeError(token.Payload) is { } shape)
        {
            return AdminTokenCheck.Refused(shape);
        }

        // Before any key is looked up: "none", HS256 (a public key used as an HMAC secret) and the like end here.
        if (token.Alg is not { } alg || !settings.Algorithms.Contains(alg, StringComparer.Ordinal))
        {
            return AdminTokenCheck.Refused($"OIDC admin token algorithm '{(token.Alg is null ? "none" : CallerText.Echo(token.Alg))}' is not accepted ({string.Join(", ", settings.Algorithms)})");
        }

        var (signingKeys, error) = await keys.GetAsync(token.Kid, ct).ConfigureAwait(false);
        if (error is not null)
        {
            return AdminTokenCheck.Refused($"OIDC admin token cannot be verified: the issuer's signing keys are not available ({error})");
        }

        if (token.Kid is { } kid && !signingKeys.Any(k => k.KeyId == kid))
        {
            return AdminTokenCheck.Refused("OIDC admin token's key id ('kid') is not among the issuer's signing keys");
        }

        var result = await new JsonWebTokenHandler().ValidateTokenAsync(string.Join('.', token.Parts), new TokenValidationParameters
        {
            IssuerSigningKeys = signingKeys,
            TryAllIssuerSigningKeys = token.Kid is null,
            ValidAlgorithms = settings.Algorithms,
            ValidIssuer = settings.Issuer,
            ValidAudience = settings.Audience,
            ValidateLifetime = false, // AdminTokenClaims checks exp and nbf against the broker's clock, strictly
            RequireExpirationTime = false,
            RequireSignedTokens = true,
        }).ConfigureAwait(false);
        if (!result.IsValid)
        {
            return AdminTokenCheck.Refused(result.Exception switch
            {
                SecurityTokenInvalidIssuerException => $"OIDC admin token's issuer is not '{settings.Issuer}'",
                SecurityTokenInvalidAudienceException => $"admin token's audience ('aud') does not include '{settings.Audience}'",
                SecurityTokenInvalidAlgorithmException => $"OIDC admin token algorithm is not accepted ({string.Join(", ", settings.Algorithms)})",
                SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException => "OIDC admin token signature is not valid for the issuer's signing keys",
                _ => "OIDC admin token is malformed or not signed by the issuer",
            });
        }

        if (AdminTokenClaims.AudienceAndLifetimeError(token.Payload, settings.Audience, time.GetUtcNow()) is { } when)
        {
            return AdminTokenCheck.Refused(when);
        }

        if (token.Claim("sub") is not { } subject)
        {
            return AdminTokenCheck.Refused("OIDC admin token has no subject ('sub')");
        }

        if (AdminAuthenticator.SubjectError(subject) is { } subjectError)
        {
            return AdminTokenCheck.Refused(subjectError);
        }

        return new AdminTokenCheck(new AdminIdentity(subject, AdminTokenSource.Oidc, bindings.RolesOf(subject)), null);
    }
}
