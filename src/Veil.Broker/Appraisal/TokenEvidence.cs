using System.Text.Json;
using System.Text.Json.Nodes;
using Veil.Policy.Appraisal;
using Veil.Policy.Model;
using Veil.Protocol.Ear;
using PolicyStatus = Veil.Policy.Appraisal.EarStatus;

namespace Veil.Broker.Appraisal;

/// <summary>
/// The EAR token is the only thing a resource request brings (cookie or bearer), so it carries everything a
/// release decision needs: per submodule the verified claims (<c>ear.veraison.annotated-evidence.&lt;tee&gt;</c>),
/// and on cpu0 the bound init-data claims. A resource request rebuilds the evidence set from the signed token
/// and appraises it with the attestation policy the resource's rule names.
/// </summary>
internal static class TokenEvidence
{
    private static readonly object Unreadable = new();

    public const string InitDataClaims = "init_data_claims";

    /// <summary>EAR submodules for an appraisal; <paramref name="annotated"/> holds each submodule's annotated evidence by name.</summary>
    public static Dictionary<string, EarSubmodule> Submodules(AppraisalResult appraisal, IReadOnlyDictionary<string, JsonObject> annotated)
    {
        var result = new Dictionary<string, EarSubmodule>(StringComparer.Ordinal);
        foreach (var s in appraisal.Submodules)
        {
            var vector = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var (name, value) in s.TrustVector.Entries)
            {
                vector[name] = value;
            }

            var evidence = annotated.TryGetValue(s.Name, out var a) ? a : new JsonObject { ["veil.tee"] = s.Tee };
            result[s.Name] = new EarSubmodule(StatusName(s.Status), vector, appraisal.PolicyId, evidence, EarJson.Explanations(s.Explanations));
        }

        return result;
    }

    /// <summary>
    /// What a verified token attests, read straight from its JSON into typed claims: each submodule's claims and cpu0's
    /// init-data claims, the evidence digest the audit joins on, and the key to encrypt to. Null, with
    /// <paramref name="error"/>, when a claim has a shape no verifier produces (the token is then refused, not guessed at).
    /// </summary>
    public static TokenAttestation? Read(EarClaims token, out string? error)
    {
        error = null;
        SubmoduleEvidence? cpu = null;
        IReadOnlyDictionary<string, string>? initData = null;
        var gpus = new List<SubmoduleEvidence>();
        var switches = new List<SubmoduleEvidence>();
        if (token.Payload["submods"] is JsonObject submods)
        {
            foreach (var (name, node) in submods)
            {
                if (node is not JsonObject sub || sub["veil.tee"] is not JsonValue teeNode || !teeNode.TryGetValue<string>(out var tee)
                    || sub["ear.veraison.annotated-evidence"] is not JsonObject annotated || annotated[tee] is not JsonObject claimsNode)
                {
                    continue;
                }

                var kind = name.StartsWith("cpu", StringComparison.Ordinal) ? SubmoduleKind.Cpu
                    : name.StartsWith("gpu", StringComparison.Ordinal) ? SubmoduleKind.Gpu
                    : name.StartsWith("switch", StringComparison.Ordinal) ? SubmoduleKind.Switch
                    : (SubmoduleKind?)null;
                if (kind is null)
                {
                    continue;
                }

                if (Claims(claimsNode, $"submods.{name}", out error) is not { } claims)
                {
                    return null;
                }

                var evidence = new SubmoduleEvidence(kind.Value, tee, claims, Verified: true, Failures: []);
                switch (kind.Value)
                {
                    case SubmoduleKind.Cpu:
                        // One CPU per attestation; init-data is bound to it.
                        cpu = evidence;
                        if (annotated[InitDataClaims] is JsonObject init)
                        {
                            initData = init.ToDictionary(p => p.Key, p => p.Value is JsonValue v && v.TryGetValue<string>(out var text) ? text : p.Value?.ToJsonString() ?? "null", StringComparer.Ordinal);
                        }

                        break;
                    case SubmoduleKind.Gpu:
                        gpus.Add(evidence);
                        break;
                    default:
                        switches.Add(evidence);
                        break;
                }
            }
        }

        List<SubmoduleEvidence> all = cpu is null ? [] : [cpu];
        all.AddRange(gpus);
        all.AddRange(switches);
        return new TokenAttestation(token.Tee, new EvidenceSet(all, initData), EvidenceDigest(token), token.TeePubKey);
    }

    /// <summary>cpu0's <c>veil.evidence_digest</c>: what joins a release to its attest in the audit.</summary>
    public static string? EvidenceDigest(EarClaims token) =>
        token.Payload["submods"]?["cpu0"]?["ear.veraison.annotated-evidence"]?["veil.evidence_digest"] is JsonValue d && d.TryGetValue<string>(out var text) ? text : null;

    /// <summary>The inverse of <see cref="ClaimsJson.From"/>: string, long, bool, string list; null claims are absent.</summary>
    private static Dictionary<string, object>? Claims(JsonObject node, string path, out string? error)
    {
        error = null;
        var claims = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var (name, value) in node)
        {
            object? typed = value switch
            {
                null => null,
                JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
                JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
                JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var l) => l,
                JsonArray a when a.All(x => x is JsonValue xv && xv.GetValueKind() == JsonValueKind.String) => a.Select(x => x!.GetValue<string>()).ToList(),
                _ => Unreadable,
            };
            if (ReferenceEquals(typed, Unreadable))
            {
                error = $"{path}.{name}: claim values are strings, integers, booleans or lists of strings";
                return null;
            }

            if (typed is not null)
            {
                claims[name] = typed;
            }
        }

        return claims;
    }

    public static string StatusName(PolicyStatus s) => AppraisalResult.StatusName(s);
}

/// <summary>
/// A verified token's attestation as typed data: the TEE of cpu0, the evidence set to appraise, the evidence digest
/// (joins a release to its attest in the audit), and the TEE key the resource is encrypted to.
/// </summary>
internal sealed record TokenAttestation(string? Tee, EvidenceSet Evidence, string? EvidenceDigest, JsonNode? TeePubKey);
