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

    /// <summary>The evidence set a verified token speaks for: each submodule's claims and cpu0's init-data claims.</summary>
    public static EvidenceSet FromToken(EarClaims token)
    {
        var set = new JsonObject();
        var gpus = new JsonArray();
        var switches = new JsonArray();
        if (token.Payload["submods"] is JsonObject submods)
        {
            foreach (var (name, node) in submods)
            {
                if (node is not JsonObject sub || sub["veil.tee"]?.GetValue<string>() is not { } tee
                    || sub["ear.veraison.annotated-evidence"] is not JsonObject annotated || annotated[tee] is not JsonObject claims)
                {
                    continue;
                }

                var entry = new JsonObject { ["tee"] = tee, ["verified"] = true, ["claims"] = claims.DeepClone() };
                if (name.StartsWith("cpu", StringComparison.Ordinal))
                {
                    set["cpu"] = entry;
                    if (annotated[InitDataClaims] is JsonObject initData)
                    {
                        set["init_data"] = initData.DeepClone();
                    }
                }
                else if (name.StartsWith("gpu", StringComparison.Ordinal))
                {
                    gpus.Add(entry);
                }
                else if (name.StartsWith("switch", StringComparison.Ordinal))
                {
                    switches.Add(entry);
                }
            }
        }

        if (gpus.Count > 0)
        {
            set["gpu"] = gpus;
        }

        if (switches.Count > 0)
        {
            set["switch"] = switches;
        }

        return ClaimsFile.Parse(set.ToJsonString(), "attestation token");
    }

    public static string StatusName(PolicyStatus s) => AppraisalResult.StatusName(s);
}
