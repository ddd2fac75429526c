using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Veil.Protocol.Jose;

namespace Veil.Broker.Admin;

/// <summary>
/// Admin bearer tokens: JWT, ES256, signed by the admin key, with <c>role: admin</c> and a mandatory expiry.
/// (EdDSA would need Ed25519, which .NET's crypto library does not offer.) There is no "allow all" mode.
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
    internal static async Task<string?> ValidateAsync(string? token, ECDsa adminPublicKey, TimeProvider time)
    {
        if (string.IsNullOrEmpty(token))
        {
            return "admin endpoint requires 'Authorization: Bearer <admin JWT>'";
        }

        var handler = new JsonWebTokenHandler();
        var result = await handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            IssuerSigningKey = new ECDsaSecurityKey(adminPublicKey),
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            ValidIssuer = Issuer,
            ValidateAudience = false,
            ValidateLifetime = false, // checked below against the injected clock
            RequireExpirationTime = false,
        }).ConfigureAwait(false);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            return result.Exception is SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException
                ? "admin token signature is not valid for this broker's admin key"
                : "admin token is malformed or not an ES256 JWT from " + Issuer;
        }

        var payload = JsonNode.Parse(Encoding.UTF8.GetString(Base64UrlText.Decode(jwt.EncodedPayload, "token.payload")))!.AsObject();
        if (payload["exp"] is not JsonValue exp || !exp.TryGetValue<long>(out var expSeconds))
        {
            return "admin token has no expiry ('exp')";
        }

        if (time.GetUtcNow() >= DateTimeOffset.FromUnixTimeSeconds(expSeconds))
        {
            return $"admin token expired at {DateTimeOffset.FromUnixTimeSeconds(expSeconds):O}";
        }

        if (payload["role"]?.GetValue<string>() != Role)
        {
            return "admin token lacks role 'admin'";
        }

        return null;
    }
}
