using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Veil.Broker.Problems;
using Veil.Protocol.Jose;

namespace Veil.Broker.Admin;

/// <summary>What checking an admin token found: the caller, or why it is refused (never containing the token).</summary>
internal sealed record AdminTokenCheck(AdminIdentity? Identity, string? Refusal)
{
    public static AdminTokenCheck Refused(string why) => new(null, why);
}

/// <summary>
/// Local admin tokens: JWT with a mandatory expiry, signed by an admin key — ES256 (Veil's own) or EdDSA/Ed25519 (as
/// Trustee's kbs-client signs them), claims as <see cref="AdminTokenClaims"/>. <c>role</c>, when present, must be one
/// of <see cref="AdminRole.Known"/> and is the token's role (Trustee's tokens carry none and act as admin): whoever holds
/// the admin private key can sign any role, so a binding in config would add nothing against that holder, while
/// letting the operator hand a tenant a narrower token. <c>aud</c> must name the configured audience when the broker
/// has one. There is no "allow all" mode.
/// </summary>
public static class AdminTokens
{
    public const string Issuer = "veil-admin";
    public const string Role = "admin";

    /// <summary>The subject of tokens minted without one (what <c>veil broker init</c> writes).</summary>
    public const string DefaultSubject = "admin";

    public static string Create(ECDsa adminKey, DateTimeOffset now, TimeSpan lifetime, string role = Role, string? audience = null, string subject = DefaultSubject)
    {
        var payload = new JsonObject
        {
            ["iss"] = Issuer,
            ["sub"] = subject,
            ["role"] = role,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = (now + lifetime).ToUnixTimeSeconds(),
        };
        if (audience is not null)
        {
            payload["aud"] = audience;
        }

        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        // No provider cache: it is keyed by the key's thumbprint and would outlive this (caller-owned) ECDsa object.
        var credentials = new SigningCredentials(new ECDsaSecurityKey(adminKey), SecurityAlgorithms.EcdsaSha256)
        {
            CryptoProviderFactory = new CryptoProviderFactory { CacheSignatureProviders = false },
        };
        return handler.CreateToken(payload.ToJsonString(), credentials);
    }

    /// <summary>Null when the token is valid, otherwise the reason (never containing the token).</summary>
    internal static async Task<string?> ValidateAsync(string? token, IReadOnlyList<ECDsa> ecKeys, IReadOnlyList<Ed25519PublicKey> edKeys, TimeProvider time, string? audience = null)
    {
        if (string.IsNullOrEmpty(token))
        {
            return AdminAuthenticator.NoToken;
        }

        if (AdminTokenClaims.Parse(token) is not { } parsed)
        {
            return AdminTokenClaims.Malformed;
        }

        return (await VerifyAsync(parsed, ecKeys, edKeys, time, audience).ConfigureAwait(false)).Refusal;
    }

    /// <summary>Checks a parsed token against the local keys; the identity is its <c>sub</c> with its role.</summary>
    internal static async Task<AdminTokenCheck> VerifyAsync(ParsedAdminToken token, IReadOnlyList<ECDsa> ecKeys, IReadOnlyList<Ed25519PublicKey> edKeys, TimeProvider time, string? audience)
    {
        var payload = token.Payload;
        if (AdminTokenClaims.ShapeError(payload) is { } shape)
        {
            return AdminTokenCheck.Refused(shape);
        }

        switch (token.Alg)
        {
            case "ES256":
                if (await ValidEs256Async(string.Join('.', token.Parts), ecKeys).ConfigureAwait(false) is { } es256Error)
                {
                    return AdminTokenCheck.Refused(es256Error);
                }

                break;
            case "EdDSA":
                byte[] signature;
                try
                {
                    signature = Base64UrlText.Decode(token.Parts[2], "token.signature");
                }
                catch (Protocol.ProtocolFormatException)
                {
                    return AdminTokenCheck.Refused(AdminTokenClaims.Malformed);
                }

                var signed = Encoding.ASCII.GetBytes(token.Parts[0] + "." + token.Parts[1]);
                if (!edKeys.Any(k => k.Verify(signed, signature)))
                {
                    return AdminTokenCheck.Refused("admin token signature is not valid for this broker's admin keys");
                }

                break;
            default:
                return AdminTokenCheck.Refused($"admin token algorithm '{(token.Alg is null ? "none" : CallerText.Echo(token.Alg))}' is not accepted (ES256 or EdDSA)");
        }

        var roleText = token.Claim("role") ?? Role;
        if (AdminRole.Parse(roleText) is not { } role)
        {
            return AdminTokenCheck.Refused($"admin token's role '{CallerText.Echo(roleText)}' is not a role this broker knows ({AdminRole.Known})");
        }

        if (AdminTokenClaims.AudienceAndLifetimeError(payload, audience, time.GetUtcNow()) is { } when)
        {
            return AdminTokenCheck.Refused(when);
        }

        if (AdminAuthenticator.SubjectError(token.Claim("sub") ?? DefaultSubject) is { } subjectError)
        {
            return AdminTokenCheck.Refused(subjectError);
        }

        return new AdminTokenCheck(new AdminIdentity(token.Claim("sub") ?? DefaultSubject, AdminTokenSource.LocalKey, [role]), null);
    }

    private static async Task<string?> ValidEs256Async(string token, IReadOnlyList<ECDsa> keys)
    {
        var handler = new JsonWebTokenHandler();
        var result = await handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            IssuerSigningKeys = keys.Select(k => (SecurityKey)new ECDsaSecurityKey(k)).ToList(),
            TryAllIssuerSigningKeys = true,
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            ValidIssuer = Issuer,
            ValidateAudience = false, // checked by the caller, with the same rule as EdDSA tokens
            ValidateLifetime = false, // checked by the caller against the injected clock
            RequireExpirationTime = false,
        }).ConfigureAwait(false);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken)
        {
            return result.Exception is SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException
                ? "admin token signature is not valid for this broker's admin key"
                : "admin token is malformed or not an ES256 JWT from " + Issuer;
        }

        return null;
    }
}
