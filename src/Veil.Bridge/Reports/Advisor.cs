using Veil.Bridge.Mitigations;
using Veil.Bridge.Platforms;
using Veil.Bridge.Scenarios;
using Veil.Bridge.Workloads;

namespace Veil.Bridge.Reports;

/// <summary>One mitigation's effect: share of the CC gap it recovers at each concurrency.</summary>
internal sealed record MitigationAdvice(string Id, string Title, string Basis, bool CcGated, IReadOnlyList<int> Concurrency, IReadOnlyList<double> Recovered)
{
    public double MeanRecovered => Recovered.Average();
}

/// <summary>What <c>veil bridge advise</c> reports: the gap and the mitigations ranked by recovered share.</summary>
internal sealed record AdviceReport(string Platform, string Workload, IReadOnlyList<int> Concurrency, IReadOnlyList<double> CcLoss, IReadOnlyList<MitigationAdvice> Ranked, IReadOnlyList<string> NotApplicable);

internal static class Advisor
{
    public static AdviceReport Advise(PlatformProfile platform, Workload workload, IReadOnlyList<int>? concurrency = null, int seed = 1)
    {
        var levels = workload.Kind == WorkloadKind.Transfer ? [1] : concurrency is { Count: > 0 } ? concurrency : workload.Concurrency;
        var applicable = Mitigation.All.Where(m => m.AppliesTo(workload)).ToList();
        var loss = levels.Select(c => Loss(platform, workload, c, seed)).ToList();
        var ranked = applicable
            .Select(m => new MitigationAdvice(m.Id, m.Title, m.Basis, m.CcGated, levels, [.. levels.Select(c => GapRecovered(platform, workload, c, [m], seed))]))
            .ToList();

        // Mitigations compose; report the best combination too (drain-worker supersedes sync scheduling).
        var combined = applicable.Where(m => m.Id != "sync-scheduling" || applicable.All(o => o.Id != "drain-worker")).ToList();
        if (combined.Count > 1)
        {
            ranked.Add(new MitigationAdvice(
                string.Join("+", combined.Select(m => m.Id)),
                "All of the above that compose",
                "combination",
                combined.Any(m => m.CcGated),
                levels,
                [.. levels.Select(c => GapRecovered(platform, workload, c, combined, seed))]));
        }

        return new AdviceReport(
            platform.Id,
            workload.Id,
            levels,
            loss,
            [.. ranked.OrderByDescending(a => a.MeanRecovered).ThenBy(a => a.Id, StringComparer.Ordinal)],
            [.. Mitigation.All.Where(m => !m.AppliesTo(workload)).Select(m => m.Id)]);
    }

    /// <summary>(time per unit CC-on default − CC-on mitigated) ÷ (CC-on default − CC-off default); 0 when there is no gap.</summary>
    public static double GapRecovered(PlatformProfile p, Workload w, int concurrency, IReadOnlyList<Mitigation> mitigations, int seed = 1)
    {
        var off = 1 / ScenarioRunner.Run(p, w, false, concurrency, seed: seed).UnitsPerSecond;
        var on = 1 / ScenarioRunner.Run(p, w, true, concurrency, seed: seed).UnitsPerSecond;
        var mitigated = 1 / ScenarioRunner.Run(p, w, true, concurrency, mitigations, seed).UnitsPerSecond;
        return on - off <= 0 ? 0 : (on - mitigated) / (on - off);
    }

    /// <summary>Throughput lost to CC: 1 − on/off.</summary>
    private static double Loss(PlatformProfile p, Workload w, int c, int seed) =>
        1 - (ScenarioRunner.Run(p, w, true, c, seed: seed).UnitsPerSecond / ScenarioRunner.Run(p, w, false, c, seed: seed).UnitsPerSecond);
}
