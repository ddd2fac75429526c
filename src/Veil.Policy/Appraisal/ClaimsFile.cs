using System.Text.Json;
using Veil.Policy.Claims;
using Veil.Policy.Model;

namespace Veil.Policy.Appraisal;

/// <summary>
/// Reads claims saved as JSON into an <see cref="EvidenceSet"/>. Two shapes are accepted:
/// the output of <c>veil verify &lt;tee&gt; --output json</c> (<c>{"verified", "tee", "claims", "failures"}</c>, or for a
/// failed verification <c>{"verified": false, "tee", "unverified_claims", "failures"}</c>), and an evidence set
/// <c>{"cpu": {...}, "gpu": [{...}], "switch": [{...}], "init_data": {...}}</c> whose entries are either such verify
/// outputs or plain claim objects. Claims read from <c>unverified_claims</c> always make an unverified submodule,
/// whatever <c>verified</c> says.
/// </summary>
public static class ClaimsFile
{
    private const string UnverifiedClaims = "unverified_claims";

    public static EvidenceSet Parse(string json, string file)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Error(file, "$", "must be a JSON object");
            }

            if (root.TryGetProperty("claims", out _) || root.TryGetProperty(UnverifiedClaims, out _))
            {
                var single = Submodule(root, null, file, "$");
                return new EvidenceSet([single]);
            }

            var subs = new List<SubmoduleEvidence>();
            Dictionary<string, string>? initData = null;
            foreach (var p in root.EnumerateObject())
            {
                switch (p.Name)
                {
                    case "cpu":
                        subs.Add(Submodule(p.Value, SubmoduleKind.Cpu, file, "$.cpu"));
                        break;
                    case "gpu" or "switch":
                        if (p.Value.ValueKind != JsonValueKind.Array)
                        {
                            throw Error(file, $"$.{p.Name}", "must be a list of devices");
                        }

                        var kind = p.Name == "gpu" ? SubmoduleKind.Gpu : SubmoduleKind.Switch;
                        var i = 0;
                        foreach (var d in p.Value.EnumerateArray())
                        {
                            subs.Add(Submodule(d, kind, file, $"$.{p.Name}[{i++}]"));
                        }

                        break;
                    case "init_data":
                        initData = p.Value.ValueKind == JsonValueKind.Object
                            ? p.Value.EnumerateObject().ToDictionary(x => x.Name, x => x.Value.ValueKind == JsonValueKind.String ? x.Value.GetString()! : x.Value.GetRawText(), StringComparer.Ordinal)
                            : throw Error(file, "$.init_data", "must be an object of key → value");
                        break;
                    default:
                        throw Error(file, $"$.{p.Name}", "unknown field (cpu, gpu, switch, init_data, or a verify output with 'claims' or 'unverified_claims')");
                }
            }

            return new EvidenceSet(subs, initData);
        }
        catch (JsonException e)
        {
            throw new PolicyLoadException(new SourceLocation(file, (int)(e.LineNumber ?? 0) + 1), $"not valid JSON: {e.Message}");
        }
    }

    private static SubmoduleEvidence Submodule(JsonElement e, SubmoduleKind? kind, string file, string path)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            throw Error(file, path, "must be an object");
        }

        var unverified = e.TryGetProperty(UnverifiedClaims, out var u);
        if (unverified && e.TryGetProperty("claims", out _))
        {
            throw Error(file, path, $"has both 'claims' and '{UnverifiedClaims}'; a verify output has one or the other");
        }

        var wrapped = unverified || e.TryGetProperty("claims", out _);
        var claimsElement = unverified ? u : wrapped ? e.GetProperty("claims") : e;
        var verified = !unverified && (!e.TryGetProperty("verified", out var v) || v.ValueKind == JsonValueKind.True);
        var failures = e.TryGetProperty("failures", out var f) && f.ValueKind == JsonValueKind.Array
            ? f.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Object && x.TryGetProperty("check", out var ch) ? ch.GetString() ?? "" : x.ToString()).ToList()
            : [];
        var claims = new Dictionary<string, object>(StringComparer.Ordinal);
        if (claimsElement.ValueKind != JsonValueKind.Object)
        {
            throw Error(file, $"{path}.{(unverified ? UnverifiedClaims : "claims")}", "must be an object");
        }

        foreach (var p in claimsElement.EnumerateObject())
        {
            if (!wrapped && p.Name is "tee" or "verified" or "failures")
            {
                continue;
            }

            var value = Value(p.Value, file, $"{path}.{p.Name}");
            if (value is not null)
            {
                claims[p.Name] = value;
            }
        }

        var tee = e.TryGetProperty("tee", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : InferTee(claims);
        tee = tee == "gpu" ? "nvidia" : tee;
        var k = kind ?? (tee is "nvidia" ? SubmoduleKind.Gpu : SubmoduleKind.Cpu);
        return new SubmoduleEvidence(k, tee, claims, verified, failures);
    }

    private static string InferTee(Dictionary<string, object> claims) =>
        claims.Keys.Select(ClaimCatalogue.TeeOf).FirstOrDefault(t => t is not ("veil" or "init_data")) ?? "unknown";

    private static object? Value(JsonElement v, string file, string path) => v.ValueKind switch
    {
        JsonValueKind.String => v.GetString(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Number => v.TryGetInt64(out var l) ? l : throw Error(file, path, "numbers must be integers"),
        JsonValueKind.Array => v.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()! : throw Error(file, path, "lists must hold strings")).ToList(),
        JsonValueKind.Null => null,
        _ => throw Error(file, path, "claim values must be strings, integers, booleans or lists of strings"),
    };

    private static PolicyLoadException Error(string file, string path, string reason) => new(new SourceLocation(file, 0), $"{path}: {reason}");
}
