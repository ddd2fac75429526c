using System.Text.Json.Nodes;

namespace Veil.Protocol.Ear;

/// <summary>
/// One appraised submodule of an EAR (<c>cpu0</c>, <c>gpu0</c>, …). <see cref="AnnotatedEvidence"/> becomes
/// <c>ear.veraison.annotated-evidence</c> (with <c>runtime_data_claims.tee-pubkey</c>, where KBS clients look
/// for the key), <see cref="Explanations"/> becomes <c>veil.explanations</c> (one object per failed rule:
/// rule, claim, operator, expected, actual, source).
/// </summary>
public sealed record EarSubmodule(
    string Status,
    IReadOnlyDictionary<string, int> TrustVector,
    string PolicyId,
    JsonObject AnnotatedEvidence,
    JsonArray Explanations);

/// <summary>The verified content of an EAR token.</summary>
public sealed record EarClaims(
    string Issuer,
    DateTimeOffset IssuedAt,
    DateTimeOffset Expires,
    IReadOnlyDictionary<string, string> SubmoduleStatus,
    JsonObject Payload)
{
    /// <summary>The TEE public key the token was issued for, from <c>submods.cpu0…runtime_data_claims.tee-pubkey</c>.</summary>
    public JsonNode? TeePubKey =>
        Payload["submods"]?["cpu0"]?["ear.veraison.annotated-evidence"]?["runtime_data_claims"]?["tee-pubkey"];

    /// <summary>The TEE name the cpu0 evidence came from (<c>veil.tee</c>).</summary>
    public string? Tee => Payload["submods"]?["cpu0"]?["veil.tee"]?.GetValue<string>();
}
