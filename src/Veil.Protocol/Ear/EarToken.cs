using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Veil.Protocol.Jose;

namespace Veil.Protocol.Ear;

/// <summary>
/// EAR attestation-result tokens (draft-ietf-rats-ear) as JWT signed with ES256, the format Trustee's
/// attestation service issues and KBS clients parse. Signing and signature checks use
/// Microsoft.IdentityModel.JsonWebTokens; time checks use the injected <see cref="TimeProvider"/>.
/// </summary>
public static class EarToken
{
    /// <summary>Trustee's EAR profile: tools that consume Trustee tokens read Veil's unchanged.</summary>
    public const string Profile = "tag:github.com,2024:confidential-containers/Trustee";

    public static string Issue(
        ECDsa signingKey,
        string keyId,
        string issuer,
        DateTimeOffset now,
        TimeSpan lifetime,
        IReadOnlyDictionary<string, EarSubmodule> submodules)
    {
        var submods = new JsonObject();
        foreach (var (name, s) in submodules)
        {
            var vector = new JsonObject();
            foreach (var (claim, value) in s.TrustVector)
            {
                vector[claim] = value;
            }

            var sub = new JsonObject
            {
                ["ear.status"] = s.Status,
                ["ear.trustworthiness-vector"] = vector,
                ["ear.appraisal-policy-id"] = s.PolicyId,
                ["ear.veraison.annotated-evidence"] = s.AnnotatedEvidence.DeepClone(),
                ["veil.explanations"] = s.Explanations.DeepClone(),
            };
            if (s.AnnotatedEvidence["veil.tee"] is { } tee)
            {
                sub["veil.tee"] = tee.DeepClone();
            }

            submods[name] = sub;
        }

        var payload = new JsonObject
        {
            ["eat_profile"] = Profile,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = (now + lifetime).ToUnixTimeSeconds(),
            ["iss"] = issuer,
            ["jti"] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
            ["ear.verifier-id"] = new JsonObject { ["developer"] = "https://veil.invalid/veil", ["build"] = "veil-broker" },
            ["submods"] = submods,
        };

        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        var key = new ECDsaSecurityKey(signingKey) { KeyId = keyId };
        return handler.CreateToken(payload.ToJsonString(), new SigningCredentials(key, SecurityAlgorithms.EcdsaSha256));
    }

    /// <summary>Verifies with a one-off <see cref="EarTokenVerifier"/>; build one and keep it when verifying often.</summary>
    public static Task<EarClaims> VerifyAsync(string token, IReadOnlyList<Jwk> keys, string issuer, TimeProvider time) =>
        new EarTokenVerifier(keys, issuer, time).VerifyAsync(token);

    internal static DateTimeOffset ReadTime(JsonObject payload, string name)
    {
        if (payload[name] is JsonValue v && v.TryGetValue<long>(out var seconds))
        {
            return DateTimeOffset.FromUnixTimeSeconds(seconds);
        }

        throw new SecurityTokenException($"attestation token rejected: claim '{name}' missing or not a number");
    }

    internal static string Reason(Exception? e) => e switch
    {
        SecurityTokenSignatureKeyNotFoundException => "signature key not found (unknown kid)",
        SecurityTokenInvalidSignatureException => "invalid signature",
        SecurityTokenInvalidIssuerException => "wrong issuer",
        SecurityTokenInvalidAlgorithmException => "algorithm not allowed (ES256 only)",
        SecurityTokenMalformedException => "malformed token",
        null => "invalid",
        _ => e.GetType().Name,
    };
}
