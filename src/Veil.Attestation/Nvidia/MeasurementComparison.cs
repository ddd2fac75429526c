using Veil.Attestation.Nvidia.Rim;

namespace Veil.Attestation.Nvidia;

/// <summary>
/// Compares a report's measurement blocks with the golden values of its RIMs (nvtrust verifier.py Verifier):
/// golden = active driver measurements ∪ active firmware measurements; an index active in both is a conflict;
/// each golden index must equal one of its alternatives with the same size.
/// </summary>
internal static class MeasurementComparison
{
    /// <summary>RIM index of the NVDEC0 measurement, which NVIDIA skips when NVDEC0 is disabled (nvtrust verifier.py).</summary>
    private const int NvdecIndex = 35;

    /// <summary>Returns the mismatching indices (ascending) and adds a named failure for each problem.</summary>
    public static List<int> Compare(SpdmMeasurementReport report, IReadOnlyList<(string Source, RimDocument Rim)> rims, List<VerificationFailure> failures)
    {
        var golden = new SortedDictionary<int, (string Source, RimMeasurement Measurement)>();
        foreach (var (source, rim) in rims)
        {
            foreach (var m in rim.Measurements)
            {
                if (!m.Active)
                {
                    continue;
                }

                if (golden.TryGetValue(m.Index, out var other))
                {
                    failures.Add(new($"measurements.index_conflict[{m.Index}]", $"index {m.Index} active in one RIM only", $"active in both the {other.Source} and the {source} RIM"));
                    continue;
                }

                golden[m.Index] = (source, m);
            }
        }

        if (golden.Count > report.Blocks.Count)
        {
            failures.Add(new("measurements.count", $"at least {golden.Count} measurement blocks (active golden measurements)", $"{report.Blocks.Count}"));
        }

        var nvdecDisabled = report.OpaqueData.NvdecStatus == NvidiaOpaqueData.Disabled;
        var mismatched = new List<int>();
        foreach (var (index, (source, m)) in golden)
        {
            if (index == NvdecIndex && nvdecDisabled)
            {
                continue;
            }

            var block = report.BlockForRimIndex(index);
            var actual = block?.Value;
            var ok = actual is { } a && a.Length == m.Size && m.Alternatives.Any(alt => alt.Span.SequenceEqual(a.Span));
            if (!ok)
            {
                mismatched.Add(index);
                failures.Add(new($"measurement[{index}]",
                    $"{source} RIM: " + string.Join(" or ", m.Alternatives.Select(alt => Hex.Lower(alt.Span))),
                    actual is { } v ? Hex.Lower(v.Span) : "no such block"));
            }
        }

        return mismatched;
    }
}
