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
        int[] widths = [Math.Max(8, r.Points.Max(p => p.Series.Length)), 6, 12, 9, 10, 10, 9, 10, 10, 9, 10];
        o.WriteLine(Row(widths, "series", "conc", "throughput", "unit", latency, "vs cc-off", "cpu ms", "launch ms", "copy ms", "wait ms", "crossings"));
        foreach (var p in r.Points)
        {
            var off = r.Points.FirstOrDefault(x => x.Series == "cc-off" && x.Concurrency == p.Concurrency);
            var steps = p.MakespanMicros / p.LatencyMicros;
            o.WriteLine(Row(
                widths,
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
                p.Crossings.ToString(CultureInfo.InvariantCulture)));
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
        o.WriteLine($"platform {p.Platform}");
        o.WriteLine($"measured (CC off)      {N(p.MeasuredMicros / 1e3)} ms");
        o.WriteLine($"model CC off / CC on   {N(p.ModelOffMicros / 1e3)} ms / {N(p.ModelOnMicros / 1e3)} ms  (x{N(p.Slowdown)})");
        o.WriteLine($"predicted CC on        {N(p.PredictedOnMicros / 1e3)} ms");
        o.WriteLine($"secure channel busy    {N(p.ChannelBusyOnMicros / 1e3)} ms; issuing thread blocked in copies {N(p.CopyBlockedOnMicros / 1e3)} ms");
    }

    public static void Validation(IReadOnlyList<FigureCheck> checks, TextWriter o)
    {
        int[] widths = [Math.Max(6, checks.Max(c => c.Figure.Id.Length)), 8, 10, 10, 7, 6, 4, 0];
        o.WriteLine(Row(widths, "figure", "role", "published", "model", "error", "tol", "ok", "claim"));
        foreach (var c in checks)
        {
            o.WriteLine(Row(
                widths,
                c.Figure.Id,
                c.Figure.Calibration ? "calib" : "predict",
                N(c.Figure.Published),
                N(c.Predicted),
                P(c.RelativeError),
                P(c.Figure.Tolerance),
                c.Within ? "yes" : "NO",
                $"{c.Figure.Claim} [{c.Figure.Source}]"));
        }

        var misses = checks.Count(c => !c.Within);
        o.WriteLine(misses == 0 ? $"all {checks.Count} figures within tolerance" : $"{misses} of {checks.Count} figures outside tolerance");
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
