using Veil.Bridge.Engine;
using Veil.Bridge.Mitigations;
using Veil.Bridge.Platforms;
using Veil.Bridge.Scenarios;
using Veil.Bridge.Workloads;

namespace Veil.Bridge.Reports;

/// <summary>Which CC modes to simulate.</summary>
internal enum CcMode
{
    On,
    Off,
    Both,
}

/// <summary>One simulated configuration at one concurrency.</summary>
/// <param name="Series">cc-off, cc-on, or cc-on+&lt;mitigations&gt;.</param>
/// <param name="Throughput">Tokens/s (serving) or GB/s (transfer).</param>
/// <param name="LatencyMicros">Mean step time (serving) or wall time (transfer).</param>
/// <param name="Serving">Per-request results (TTFT, TPOT, swaps) of a request-mix run.</param>
internal sealed record SimulationPoint(string Series, int Concurrency, double Throughput, string ThroughputUnit, double LatencyMicros, TimeBreakdown Main, double ComputeBusyMicros, double ChannelBusyMicros, long Crossings, double MakespanMicros, ServingStats? Serving = null);

/// <summary>What <c>veil bridge simulate</c> reports.</summary>
internal sealed record SimulationReport(string Platform, string Workload, string WorkloadKind, IReadOnlyList<string> Mitigations, int Seed, IReadOnlyList<SimulationPoint> Points)
{
    public IEnumerable<string> SeriesNames => Points.Select(p => p.Series).Distinct();
}

/// <summary>Runs a workload on a platform in the requested modes.</summary>
internal static class Simulation
{
    /// <summary>Reads <c>--sweep concurrency=1,16,64,256</c>: the levels to run (a closed loop for a request mix).</summary>
    public static IReadOnlyList<int> ParseSweep(string sweep)
    {
        var eq = sweep.IndexOf('=', StringComparison.Ordinal);
        var key = eq < 0 ? sweep : sweep[..eq].Trim();
        if (eq < 0 || !key.Equals("concurrency", StringComparison.OrdinalIgnoreCase))
        {
            throw new BridgeInputException("--sweep", $"'{sweep}' is not concurrency=<levels> (e.g. concurrency=1,16,64,256)");
        }

        var values = sweep[(eq + 1)..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (values.Length is 0 or > 64)
        {
            throw new BridgeInputException("--sweep", "give 1 to 64 concurrency levels");
        }

        return [.. values.Select(v => int.TryParse(v, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var c) && c is >= 1 and <= WorkloadCatalog.MaxConcurrency
            ? c
            : throw new BridgeInputException("--sweep", $"'{v}' is not a concurrency level in [1, {WorkloadCatalog.MaxConcurrency}]"))];
    }

    public static SimulationReport Run(PlatformProfile platform, Workload workload, IReadOnlyList<Mitigation> mitigations, CcMode mode, IReadOnlyList<int>? concurrency = null, int seed = 1)
    {
        if (concurrency is { Count: > 0 } && workload.Requests is { ArrivalRate: not null } open)
        {
            // A sweep over concurrency runs the mix as a closed loop: a fixed number of requests in flight.
            workload = workload with { Requests = open with { ArrivalRate = null, PerConcurrency = Math.Max(open.PerConcurrency, 4) } };
        }

        var levels = workload.Kind == Workloads.WorkloadKind.Transfer ? [1] : concurrency is { Count: > 0 } ? concurrency : workload.Concurrency;
        foreach (var c in levels)
        {
            if (c is < 1 or > WorkloadCatalog.MaxConcurrency)
            {
                throw new BridgeInputException("--concurrency", $"{c} is outside [1, {WorkloadCatalog.MaxConcurrency}]");
            }
        }

        var named = string.Join("+", mitigations.Select(m => m.Id));
        var points = new List<SimulationPoint>();
        foreach (var c in levels)
        {
            if (mode is CcMode.Off or CcMode.Both)
            {
                points.Add(Point("cc-off", workload, ScenarioRunner.Run(platform, workload, false, c, seed: seed)));
                if (mode == CcMode.Off && mitigations.Count > 0)
                {
                    points.Add(Point("cc-off+" + named, workload, ScenarioRunner.Run(platform, workload, false, c, mitigations, seed)));
                }
            }

            if (mode is CcMode.On or CcMode.Both)
            {
                points.Add(Point("cc-on", workload, ScenarioRunner.Run(platform, workload, true, c, seed: seed)));
                if (mitigations.Count > 0)
                {
                    points.Add(Point("cc-on+" + named, workload, ScenarioRunner.Run(platform, workload, true, c, mitigations, seed)));
                }
            }
        }

        return new SimulationReport(platform.Id, workload.Id, workload.Kind.ToString().ToLowerInvariant(), [.. mitigations.Select(m => m.Id)], seed, points);
    }

    private static SimulationPoint Point(string series, Workload w, RunOutcome r)
    {
        var transfer = w.Kind == Workloads.WorkloadKind.Transfer;
        var throughput = transfer ? r.Units / r.MakespanMicros / 1e3 : r.UnitsPerSecond;
        var latency = transfer ? r.MakespanMicros : r.MakespanMicros / (r.Serving?.Steps ?? w.Steps);
        return new SimulationPoint(series, r.Concurrency, throughput, transfer ? "GB/s" : "tokens/s", latency, r.Sim.Main, r.Sim.ComputeBusyMicros, r.Sim.ChannelBusyMicros, r.Sim.Crossings, r.MakespanMicros, r.Serving);
    }
}
