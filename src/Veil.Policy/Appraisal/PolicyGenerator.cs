using System.Globalization;
using System.Text;
using Veil.Policy.Claims;
using Veil.Policy.Model;

namespace Veil.Policy.Appraisal;

/// <summary>
/// Writes a policy that pins every documented claim of an evidence set to its current value: the starting
/// point for a workload's own policy ("what I have now is what I accept"), to be loosened by hand.
/// Claims that change on every attestation (report data, report ids, nonces) are left out.
/// </summary>
public static class PolicyGenerator
{
    private static readonly HashSet<string> Volatile = new(StringComparer.Ordinal)
    {
        "snp.report_data", "snp.report_id", "snp.report_id_ma", "tdx.report_data", "nvidia.nonce", "sample.report_data",
    };

    public static string FromEvidence(EvidenceSet evidence, string name)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        var sb = new StringBuilder();
        sb.Append("apiVersion: veil.dev/v1\nkind: AttestationPolicy\nmetadata:\n  name: ").Append(Quote(name)).Append('\n');
        sb.Append("submodules:\n");
        foreach (var group in evidence.Submodules.Where(s => s.Verified).GroupBy(s => s.Kind))
        {
            var first = group.First();
            sb.Append("  ").Append(group.Key.ToString().ToLowerInvariant()).Append(":\n");
            sb.Append("    accept: [").Append(first.Tee).Append("]\n");
            sb.Append("    minCount: ").Append(group.Count().ToString(CultureInfo.InvariantCulture)).Append('\n');
            sb.Append("    rules:\n");
            // Several devices of one kind with distinct identities get rules per device (guarded by the
            // device id), so every value is pinned and a changed value is explained once, for its device.
            var ids = group.Select(g => g.Claims.TryGetValue("nvidia.device_id", out var id) ? id as string : null).ToList();
            var perDevice = group.Count() > 1 && ids.All(i => i is not null) && ids.Distinct(StringComparer.Ordinal).Count() == ids.Count;
            foreach (var (device, id) in perDevice ? group.Zip(ids) : [(first, null)])
            {
                foreach (var (claim, value) in device.Claims.OrderBy(c => c.Key, StringComparer.Ordinal))
                {
                    if (Volatile.Contains(claim) || ClaimCatalogue.Find(claim) is not { } def || ClaimValues.Coerce(value, def.Type) is not { } v)
                    {
                        continue;
                    }

                    // Without per-device rules, a value that differs between devices of the kind cannot be pinned.
                    if (id is null && group.Count() > 1
                        && group.Any(g => !g.Claims.TryGetValue(claim, out var other) || ClaimValues.Format(other) != ClaimValues.Format(value)))
                    {
                        continue;
                    }

                    if (id is not null && claim == "nvidia.device_id")
                    {
                        continue;
                    }

                    sb.Append("      - name: ").Append(Quote(id is null ? $"pin-{claim}" : $"pin-{claim}-{id}")).Append('\n');
                    sb.Append("        claim: ").Append(claim).Append('\n');
                    sb.Append("        equals: ").Append(Literal(v, def.Type)).Append('\n');
                    if (id is not null)
                    {
                        sb.Append("        when: {claim: nvidia.device_id, equals: ").Append(Quote(id)).Append("}\n");
                    }

                    sb.Append("        trust: ").Append(TrustVector.Name(Component(claim))).Append('\n');
                }
            }
        }

        return sb.ToString();
    }

    /// <summary>Which AR4SI component a claim speaks to, by what it measures.</summary>
    public static TrustComponent Component(string claim) => claim switch
    {
        _ when claim.Contains("measurement", StringComparison.Ordinal) || claim.StartsWith("tdx.mr_td", StringComparison.Ordinal)
            || claim.StartsWith("tdx.rtmr", StringComparison.Ordinal) || claim.Contains("launch_digest", StringComparison.Ordinal) => TrustComponent.Executables,
        _ when claim.Contains("tcb", StringComparison.Ordinal) || claim.Contains("version", StringComparison.Ordinal) || claim.Contains("svn", StringComparison.Ordinal)
            || claim.EndsWith(".product", StringComparison.Ordinal) || claim.EndsWith(".arch", StringComparison.Ordinal) || claim.StartsWith("snp.cpuid", StringComparison.Ordinal)
            || claim.Contains("mit_vector", StringComparison.Ordinal) || claim == "tdx.mr_seam" || claim == "tdx.fmspc" || claim == "tdx.advisory_ids" => TrustComponent.Hardware,
        _ when claim.Contains("chip_id", StringComparison.Ordinal) || claim.Contains("device_id", StringComparison.Ordinal) || claim.Contains("key_digest", StringComparison.Ordinal)
            || claim.EndsWith(".signer", StringComparison.Ordinal) => TrustComponent.InstanceIdentity,
        _ when claim.Contains("host_data", StringComparison.Ordinal) || claim.Contains("config_id", StringComparison.Ordinal) || claim.StartsWith("init_data.", StringComparison.Ordinal) => TrustComponent.SourcedData,
        _ => TrustComponent.Configuration,
    };

    private static string Literal(object v, ClaimType type) => v switch
    {
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        IEnumerable<string> list => "[" + string.Join(", ", list.Select(Quote)) + "]",
        string s => Quote(s),
        _ => Quote(ClaimValues.Format(v)),
    };

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
