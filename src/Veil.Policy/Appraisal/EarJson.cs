using System.Text.Json.Nodes;

namespace Veil.Policy.Appraisal;

/// <summary>
/// The appraisal as EAR claims (draft-ietf-rats-ear): <c>ear.status</c>, and per submodule its status,
/// AR4SI trust vector (<c>ear.trustworthiness-vector</c>), policy id and <c>veil.explanations</c>.
/// Token signing and the remaining EAR claims (iat, verifier id, nonce) belong to the token issuer.
/// </summary>
public static class EarJson
{
    public static JsonObject From(AppraisalResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var submods = new JsonObject();
        foreach (var s in result.Submodules)
        {
            var vector = new JsonObject();
            foreach (var (name, value) in s.TrustVector.Entries.Where(e => e.Value != 0))
            {
                vector[name] = value;
            }

            submods[s.Name] = new JsonObject
            {
                ["ear.status"] = AppraisalResult.StatusName(s.Status),
                ["ear.trustworthiness-vector"] = vector,
                ["ear.appraisal-policy-id"] = result.PolicyId,
                ["veil.tee"] = s.Tee,
                ["veil.explanations"] = Explanations(s.Explanations),
            };
        }

        return new JsonObject
        {
            ["ear.status"] = AppraisalResult.StatusName(result.Status),
            ["ear.appraisal-policy-id"] = result.PolicyId,
            ["submods"] = submods,
            ["veil.explanations"] = Explanations(result.Explanations),
        };
    }

    public static JsonArray Explanations(IEnumerable<Explanation> explanations)
    {
        ArgumentNullException.ThrowIfNull(explanations);
        var array = new JsonArray();
        foreach (var e in explanations)
        {
            array.Add(new JsonObject
            {
                ["submodule"] = e.Submodule,
                ["rule"] = e.Rule,
                ["claim"] = e.Claim,
                ["operator"] = e.Operator,
                ["expected"] = e.Expected,
                ["actual"] = e.Actual,
                ["source"] = e.Source,
                ["severity"] = e.Severity == Model.Severity.Warning ? "warning" : "contraindicated",
                ["message"] = e.ToString(),
            });
        }

        return array;
    }
}
