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
        // Written straight to UTF-8: building a JsonObject payload deep-cloned every submodule's annotated evidence
        // (a node has one parent) and serialized it once more as a string.
        var payload = Messages.KbsJson.Serialize(w =>
        {
            w.WriteStartObject();
            w.WriteString("eat_profile", Profile);
            w.WriteNumber("iat", now.ToUnixTimeSeconds());
            w.WriteNumber("exp", (now + lifetime).ToUnixTimeSeconds());
            w.WriteString("iss", issuer);
            w.WriteString("jti", Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
            w.WriteStartObject("ear.verifier-id");
            w.WriteString("developer", "https://veil.invalid/veil");
            w.WriteString("build", "veil-broker");
            w.WriteEndObject();
            w.WriteStartObject("submods");
            foreach (var (name, s) in submodules)
            {
                w.WriteStartObject(name);
                w.WriteString("ear.status", s.Status);
                w.WriteStartObject("ear.trustworthiness-vector");
                foreach (var (claim, value) in s.TrustVector)
                {
                    w.WriteNumber(claim, value);
                }

                w.WriteEndObject();
                w.WriteString("ear.appraisal-policy-id", s.PolicyId);
                w.WritePropertyName("ear.veraison.annotated-evidence");
                s.AnnotatedEvidence.WriteTo(w);
                w.WritePropertyName("veil.explanations");
                s.Explanations.WriteTo(w);
                if (s.AnnotatedEvidence["veil.tee"] is { } tee)
                {
                    w.WritePropertyName("veil.tee");
                    tee.WriteTo(w);
                }

                w.WriteEndObject();
            }

            w.WriteEndObject();
            w.WriteEndObject();
        });

        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        var key = new ECDsaSecurityKey(signingKey) { KeyId = keyId };
        return handler.CreateToken(Encoding.UTF8.GetString(payload), new SigningCredentials(key, SecurityAlgorithms.EcdsaSha256));
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
