using System.Globalization;
using Veil.Bridge.Reports;
using Veil.Bridge.Traces;
using Veil.Bridge.Validation;

namespace Veil.Cli.Commands;

/// <summary>Plain-text tables for <c>veil bridge</c>.</summary>
internal static class BridgeTables
{
    public static void Simulation(SimulationReport r, TextWriter o)
    {
        o.WriteLine($"workload {r.Workload} ({r.WorkloadKind}) on {r.Platform}, seed {r.Seed}{(r.Mitigations.Count > 0 ? ", mitigations: " + string.Join(", ", r.Mitigations) : string.Empty)}");
        var latency = r.WorkloadKind == "serving" ? "step ms" : "wall ms";
        var serving = r.Points.Any(p => p.Serving is not null);
        int[] widths = [Math.Max(8, r.Points.Max(p => p.Series.Length)), 6, 12, 9, 10, 10, 9, 10, 10, 9, 10, 10, 9, 9, 9];
        string[] head = ["series", "conc", "throughput", "unit", latency, "vs cc-off", "cpu ms", "launch ms", "copy ms", "wait ms", "crossings"];
        o.WriteLine(Row(widths, serving ? [.. head, "ttft ms", "tpot ms", "preempt", "swap GB"] : head));
        foreach (var p in r.Points)
        {
            var off = r.Points.FirstOrDefault(x => x.Series == "cc-off" && x.Concurrency == p.Concurrency);
            var steps = p.MakespanMicros / p.LatencyMicros;
            string[] cells =
            [
                p.Series,
                p.Concurrency.ToString(CultureInfo.InvariantCulture),
                N(p.Throughput),
                p.ThroughputUnit,
                N(p.LatencyMicros / 1e3),
                off is null ? "-" : N(p.Throughput / off.Throughput),
                N(p.Main.Cpu / steps / 1e3),
                N(p.Main.Launch / steps / 1e3),
                N((p.Main.CopyBlocked + p.Main.ApiOverhead) / steps / 1e3),
                N(p.Main.Waiting / steps / 1e3),
                p.Crossings.ToString(CultureInfo.InvariantCulture),
            ];
            o.WriteLine(Row(widths, p.Serving is { } s
                ? [.. cells, N(s.MeanTtftMicros / 1e3), N(s.MeanTpotMicros / 1e3), s.Preemptions.ToString(CultureInfo.InvariantCulture), N((s.SwapInBytes + s.SwapOutBytes) / 1e9)]
                : cells));
        }
    }

    public static void Advice(AdviceReport r, TextWriter o)
    {
        o.WriteLine($"workload {r.Workload} on {r.Platform}");
        o.WriteLine("throughput lost to CC: " + string.Join(", ", r.Concurrency.Zip(r.CcLoss, (c, l) => string.Create(CultureInfo.InvariantCulture, $"c={c} {l * 100:F1} %"))));
        int[] widths = [5, Math.Max(10, r.Ranked.Select(a => a.Id.Length).DefaultIfEmpty(0).Max()), 15, Math.Max(15, 8 * r.Concurrency.Count), 8];
        o.WriteLine(Row(widths, "rank", "mitigation", "mean recovered", "per concurrency", "cc-gated"));
        var rank = 1;
        foreach (var a in r.Ranked)
        {
            o.WriteLine(Row(
                widths,
                (rank++).ToString(CultureInfo.InvariantCulture),
                a.Id,
                P(a.MeanRecovered),
                string.Join(" ", a.Recovered.Select(P)),
                a.CcGated ? "yes" : "no"));
        }

        if (r.NotApplicable.Count > 0)
        {
            o.WriteLine("not applicable to this workload: " + string.Join(", ", r.NotApplicable));
        }
    }

    public static void Prediction(TracePrediction p, TextWriter o)
    {
        o.WriteLine($"trace: {p.Rows} rows, {p.Kernels} kernels, {p.CopiesToDevice} H2D ({N(p.BytesToDevice / 1e6)} MB), {p.CopiesToHost} D2H ({N(p.BytesToHost / 1e6)} MB)");
        o.WriteLine($"platform {p.Platform}; {p.ApiCopies} copies priced as framework-level (API) crossings (--api-level {p.Policy.ToString().ToLowerInvariant()})");
        o.WriteLine($"measured (CC off)      {N(p.MeasuredMicros / 1e3)} ms");
        o.WriteLine($"model CC off / CC on   {N(p.ModelOffMicros / 1e3)} ms / {N(p.ModelOnMicros / 1e3)} ms  (x{N(p.Slowdown)})");
        o.WriteLine($"predicted CC on        {N(p.PredictedOnMicros / 1e3)} ms");
        o.WriteLine($"secure channel busy    {N(p.ChannelBusyOnMicros / 1e3)} ms; issuing thread blocked in copies {N(p.CopyBlockedOnMicros / 1e3)} ms");
    }

    /// <summary>Calibration figures (profile inputs: a consistency check) apart from predictions; every error printed; misses listed with their reasons.</summary>
    public static void Validation(IReadOnlyList<FigureCheck> checks, TextWriter o)
    {
        int[] widths = [Math.Max(6, checks.Max(c => c.Figure.Id.Length)), 10, 10, 7, 6, 4, 0];
        foreach (var (title, calibration) in new[] { ("calibration figures (also profile inputs: the check shows the engine reproduces them)", true), ("prediction figures (used nowhere in the profiles)", false) })
        {
            var rows = checks.Where(c => c.Figure.Calibration == calibration).ToList();
            o.WriteLine($"{title}: {rows.Count(c => c.Within)} of {rows.Count} within tolerance");
            o.WriteLine(Row(widths, "figure", "published", "model", "error", "tol", "ok", "claim"));
            foreach (var c in rows)
            {
                o.WriteLine(Row(
                    widths,
                    c.Figure.Id,
                    N(c.Figure.Published),
                    N(c.Predicted),
                    P(c.RelativeError),
                    P(c.Figure.Tolerance),
                    c.Within ? "yes" : c.ExplainedMiss ? "MISS" : "NO",
                    $"{c.Figure.Claim} [{c.Figure.Source}]"));
            }

            o.WriteLine();
        }

        var misses = checks.Where(c => !c.Within).ToList();
        o.WriteLine(misses.Count == 0 ? $"all {checks.Count} figures within tolerance" : $"{misses.Count} of {checks.Count} figures outside tolerance:");
        foreach (var c in misses)
        {
            o.WriteLine($"- {c.Figure.Id} (error {P(c.RelativeError)}): {c.Figure.KnownMiss ?? "NO REASON RECORDED"}");
        }

        foreach (var c in checks.Where(c => c.Within && c.Figure.KnownMiss is not null))
        {
            o.WriteLine($"- {c.Figure.Id} is within tolerance now but still carries a known_miss reason: remove it from figures.yaml");
        }
    }

    private static string Row(int[] widths, params string[] cells) =>
        string.Join(" ", cells.Select((c, i) => i < cells.Length - 1 ? c.PadRight(widths[Math.Min(i, widths.Length - 1)]) : c)).TrimEnd();

    private static string N(double v) => v switch
    {
        >= 1000 => v.ToString("N0", CultureInfo.InvariantCulture),
        >= 10 => v.ToString("F1", CultureInfo.InvariantCulture),
        _ => v.ToString("G4", CultureInfo.InvariantCulture),
    };

    private static string P(double v) => v.ToString("P1", CultureInfo.InvariantCulture).Replace(" ", string.Empty, StringComparison.Ordinal);
}
