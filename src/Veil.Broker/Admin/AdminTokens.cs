using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Veil.Broker.Problems;
using Veil.Protocol.Jose;

namespace Veil.Broker.Admin;

/// <summary>
/// Admin bearer tokens: JWT with a mandatory expiry, signed by an admin key — ES256 (Veil's own) or EdDSA/Ed25519
/// (as Trustee's kbs-client signs them). One claim rule for both: <c>exp</c> (and <c>nbf</c>, <c>iat</c> when
/// present) are NumericDates within the years 1–9999; <c>role</c>, when present, is the string <c>admin</c> (Trustee's
/// tokens carry none; any other role is refused, so a token minted for a narrower role never acts as admin);
/// <c>aud</c> must name the configured audience when the broker has one. There is no "allow all" mode.
/// </summary>
public static class AdminTokens
{
    public const string Issuer = "veil-admin";
    public const string Role = "admin";

    /// <summary>The NumericDate range a <see cref="DateTimeOffset"/> can hold (0001-01-01 to 9999-12-31).</summary>
    private static readonly long MinSeconds = DateTimeOffset.MinValue.ToUnixTimeSeconds();
    private static readonly long MaxSeconds = DateTimeOffset.MaxValue.ToUnixTimeSeconds();

    public static string Create(ECDsa adminKey, DateTimeOffset now, TimeSpan lifetime, string role = Role, string? audience = null)
    {
        var payload = new JsonObject
        {
            ["iss"] = Issuer,
            ["sub"] = "admin",
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
            return "admin endpoint requires 'Authorization: Bearer <admin JWT>'";
        }

        var parts = token.Split('.');
        string? alg;
        JsonObject payload;
        try
        {
            var header = parts.Length == 3 ? JsonNode.Parse(Base64UrlText.Decode(parts[0], "token.header"), documentOptions: Protocol.Messages.KbsJson.StrictDocumentOptions) : null;
            alg = header?["alg"] is JsonValue a && a.GetValueKind() == JsonValueKind.String ? a.GetValue<string>() : null;
            payload = parts.Length == 3 ? JsonNode.Parse(Base64UrlText.Decode(parts[1], "token.payload"), documentOptions: Protocol.Messages.KbsJson.StrictDocumentOptions)?.AsObject() ?? throw new FormatException() : throw new FormatException();
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException or Protocol.ProtocolFormatException)
        {
            return "admin token is malformed (expected a compact JWT)";
        }

        // The claims' shapes first: a wrongly typed claim is named, whoever signed it.
        if (ClaimShapeError(payload) is { } shape)
        {
            return shape;
        }

        switch (alg)
        {
            case "ES256":
                if (await ValidEs256Async(token, ecKeys).ConfigureAwait(false) is { } es256Error)
                {
                    return es256Error;
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

                break;
            default:
                return $"admin token algorithm '{(alg is null ? "none" : CallerText.Echo(alg))}' is not accepted (ES256 or EdDSA)";
        }

        if (payload["role"] is JsonValue role && role.GetValue<string>() != Role)
        {
            return $"admin token's role '{CallerText.Echo(role.GetValue<string>())}' is not '{Role}'";
        }

        if (audience is not null && !HasAudience(payload["aud"], audience))
        {
            return payload["aud"] is null
                ? $"admin token has no audience ('aud'); this broker requires '{audience}'"
                : $"admin token's audience ('aud') does not include '{audience}'";
        }

        var now = time.GetUtcNow();
        var exp = NumericDate(payload["exp"])!.Value;
        if (now >= exp)
        {
            return $"admin token expired at {exp:O}";
        }

        if (NumericDate(payload["nbf"]) is { } nbf && now < nbf)
        {
            return $"admin token is not valid before {nbf:O}";
        }

        return null;
    }

    /// <summary>What is wrong with the claims' types or ranges, or null: checked before any claim is used.</summary>
    private static string? ClaimShapeError(JsonObject payload)
    {
        if (payload["exp"] is null)
        {
            return "admin token has no expiry ('exp')";
        }

        foreach (var name in new[] { "exp", "nbf", "iat" })
        {
            if (payload.ContainsKey(name) && NumericDate(payload[name]) is null)
            {
                return $"admin token claim '{name}' is not a NumericDate (a number of seconds since 1970 within the years 1 to 9999)";
            }
        }

        foreach (var name in new[] { "role", "iss", "sub" })
        {
            if (payload.ContainsKey(name) && (payload[name] is not JsonValue v || v.GetValueKind() != JsonValueKind.String))
            {
                return $"admin token claim '{name}' must be a string";
            }
        }

        if (payload.ContainsKey("aud") && !(payload["aud"] is JsonValue { } s && s.GetValueKind() == JsonValueKind.String)
            && !(payload["aud"] is JsonArray list && list.All(x => x is JsonValue xv && xv.GetValueKind() == JsonValueKind.String)))
        {
            return "admin token claim 'aud' must be a string or an array of strings";
        }

        return null;
    }

    /// <summary>A JSON number within the DateTimeOffset range (fractions of a second dropped), else null.</summary>
    private static DateTimeOffset? NumericDate(JsonNode? node)
    {
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number || !v.TryGetValue<double>(out var seconds)
            || double.IsNaN(seconds) || seconds < MinSeconds || seconds > MaxSeconds)
        {
            return null;
        }

        return DateTimeOffset.FromUnixTimeSeconds((long)Math.Floor(seconds));
    }

    private static bool HasAudience(JsonNode? aud, string audience) => aud switch
    {
        JsonValue v => v.GetValue<string>() == audience,
        JsonArray list => list.Any(x => x!.GetValue<string>() == audience),
        _ => false,
    };

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
