using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Veil.Protocol.Jose;

namespace Veil.Broker.Admin;

/// <summary>
/// Admin bearer tokens: JWT with a mandatory expiry, signed by an admin key — ES256 (Veil's own, with
/// <c>role: admin</c>) or EdDSA/Ed25519 (as Trustee's kbs-client signs them). There is no "allow all" mode.
/// </summary>
public static class AdminTokens
{
    public const string Issuer = "veil-admin";
    public const string Role = "admin";

    public static string Create(ECDsa adminKey, DateTimeOffset now, TimeSpan lifetime)
    {
        var payload = new JsonObject
        {
            ["iss"] = Issuer,
            ["sub"] = "admin",
            ["role"] = Role,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = (now + lifetime).ToUnixTimeSeconds(),
        };
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        // No provider cache: it is keyed by the key's thumbprint and would outlive this (caller-owned) ECDsa object.
        var credentials = new SigningCredentials(new ECDsaSecurityKey(adminKey), SecurityAlgorithms.EcdsaSha256)
        {
            CryptoProviderFactory = new CryptoProviderFactory { CacheSignatureProviders = false },
        };
        return handler.CreateToken(payload.ToJsonString(), credentials);
    }

    /// <summary>Null when the token is valid, otherwise the reason (never containing the token).</summary>
    internal static async Task<string?> ValidateAsync(string? token, IReadOnlyList<ECDsa> ecKeys, IReadOnlyList<Ed25519PublicKey> edKeys, TimeProvider time)
    {
        if (string.IsNullOrEmpty(token))
        {
            return "admin endpoint requires 'Authorization: Bearer <admin JWT>'";
        }

        var parts = token.Split('.');
        string? alg;
        JsonObject payload;
        try
        {
            alg = parts.Length == 3 ? JsonNode.Parse(Base64UrlText.Decode(parts[0], "token.header"), documentOptions: Protocol.Messages.KbsJson.StrictDocumentOptions)?["alg"]?.GetValue<string>() : null;
            payload = parts.Length == 3 ? JsonNode.Parse(Base64UrlText.Decode(parts[1], "token.payload"), documentOptions: Protocol.Messages.KbsJson.StrictDocumentOptions)?.AsObject() ?? throw new FormatException() : throw new FormatException();
        }
        catch (Exception e) when (e is FormatException or System.Text.Json.JsonException or InvalidOperationException or Protocol.ProtocolFormatException)
        {
            return "admin token is malformed (expected a compact JWT)";
        }

        switch (alg)
        {
            case "ES256":
                if (await ValidEs256Async(token, ecKeys).ConfigureAwait(false) is { } es256Error)
                {
                    return es256Error;
                }

                if (payload["role"]?.GetValue<string>() != Role)
                {
                    return "admin token lacks role 'admin'";
                }

                break;
            case "EdDSA":
                byte[] signature;
                try
                {
                    signature = Base64UrlText.Decode(parts[2], "token.signature");
                }
                catch (Protocol.ProtocolFormatException)
                {
                    return "admin token is malformed (expected a compact JWT)";
                }

                var signed = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]);
                if (!edKeys.Any(k => k.Verify(signed, signature)))
                {
                    return "admin token signature is not valid for this broker's admin keys";
                }

                if (payload["role"] is { } role && role.GetValueKind() == System.Text.Json.JsonValueKind.String && role.GetValue<string>() != Role)
                {
                    return "admin token's role is not 'admin'";
                }

                break;
            default:
                return $"admin token algorithm '{alg ?? "none"}' is not accepted (ES256 or EdDSA)";
        }

        if (payload["exp"] is not JsonValue exp || !exp.TryGetValue<long>(out var expSeconds))
        {
            return "admin token has no expiry ('exp')";
        }

        var now = time.GetUtcNow();
        if (now >= DateTimeOffset.FromUnixTimeSeconds(expSeconds))
        {
            return $"admin token expired at {DateTimeOffset.FromUnixTimeSeconds(expSeconds):O}";
        }

        if (payload["nbf"] is JsonValue nbf && nbf.TryGetValue<long>(out var nbfSeconds) && now < DateTimeOffset.FromUnixTimeSeconds(nbfSeconds))
        {
            return $"admin token is not valid before {DateTimeOffset.FromUnixTimeSeconds(nbfSeconds):O}";
        }

        return null;
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
            ValidateAudience = false,
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
