using System.Text.Json;
using System.Text.Json.Nodes;
using Veil.Attestation;

namespace Veil.Broker.Appraisal;

/// <summary>
/// Verifier claims (string, integer, bool, string list) as JSON for the token's annotated evidence; <see cref="TokenEvidence"/>
/// reads them back as string, long, bool and string list, the types the policy engine compares, so a claim
/// appraised at release is the one appraised at attest.
/// </summary>
internal static class ClaimsJson
{
    public static JsonObject From(VerificationResult result)
    {
        var o = new JsonObject();
        foreach (var (name, value) in result.Claims.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            o[name] = value switch
            {
                string s => JsonValue.Create(s),
                bool b => JsonValue.Create(b),
                int i => JsonValue.Create(i),
                long l => JsonValue.Create(l),
                ulong u => JsonValue.Create(u),
                uint u => JsonValue.Create(u),
                IEnumerable<string> list => new JsonArray(list.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray()),
                _ => JsonValue.Create(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)),
            };
        }

        return o;
    }

    public static JsonNode? Node(JsonElement e) => JsonNode.Parse(e.GetRawText());
}
