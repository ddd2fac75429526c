using Veil.Bridge.Engine;
using Veil.Bridge.Mitigations;
using Veil.Bridge.Platforms;
using Veil.Bridge.Reports;
using Veil.Bridge.Scenarios;
using Veil.Bridge.Workloads;

namespace Veil.Bridge.Validation;

/// <summary>One row of <c>veil bridge validate</c>.</summary>
internal sealed record FigureCheck(PublishedFigure Figure, double Predicted)
{
    public double RelativeError => Math.Abs(Predicted - Figure.Published) / Figure.Published;

    public bool Within => RelativeError <= Figure.Tolerance;

    /// <summary>Outside its tolerance, with the reason recorded.</summary>
    public bool ExplainedMiss => !Within && Figure.KnownMiss is not null;

    /// <summary>A fault of the figure set: a miss nobody explained, or an explanation for a figure that no longer misses.</summary>
    public bool Unaccounted => Within == (Figure.KnownMiss is not null);
}

/// <summary>Holds the model against every published figure with the platforms' fixed parameters.</summary>
internal static class Validator
{
    public static IReadOnlyList<FigureCheck> CheckAll() => [.. FigureCatalog.All.Select(Check)];

    public static FigureCheck Check(PublishedFigure f)
    {
        var platforms = f.Platforms.Select(PlatformCatalog.Resolve).ToList();
        var value = f.Measure switch
        {
            FigureMeasure.CopyRatio => CopyTime(platforms[0], f, cc: false) / CopyTime(platforms[0], f, cc: true),
            FigureMeasure.CopySlowdown => CopyTime(platforms[0], f, cc: true) / CopyTime(platforms[0], f, cc: false),
            FigureMeasure.LatencyRatio => Over(platforms, f, (p, w, c) =>
                ScenarioRunner.Run(p, w, true, c).MakespanMicros / ScenarioRunner.Run(p, w, false, c).MakespanMicros),
            FigureMeasure.ThroughputRatio => Over(platforms, f, (p, w, c) =>
                ScenarioRunner.Run(p, w, true, c).UnitsPerSecond / ScenarioRunner.Run(p, w, false, c).UnitsPerSecond),
            FigureMeasure.GapRecovered => Over(platforms, f, (p, w, c) => Advisor.GapRecovered(p, w, c, [Mitigation.Resolve(f.Mitigation ?? throw new BridgeInputException(f.Id, "gap-recovered needs a mitigation"))])),
            FigureMeasure.TtftRatio => Over(platforms, f, (p, w, c) => Ttft(p, w, true, c) / Ttft(p, w, false, c)),
            FigureMeasure.CopyRate => f.Bytes / CopyTime(platforms[0], f, cc: true) / 1e3,
            _ => throw new BridgeInputException(f.Id, $"unsupported measure {f.Measure}"),
        };
        return new FigureCheck(f, value);
    }

    private static double Over(List<PlatformProfile> platforms, PublishedFigure f, Func<PlatformProfile, Workload, int, double> measure)
    {
        var w = WorkloadCatalog.Resolve(f.Workload ?? throw new BridgeInputException(f.Id, "needs a workload"));
        var levels = f.Concurrency is int only ? [only] : w.Concurrency;
        var values = platforms.SelectMany(p => levels.Select(c => measure(p, w, c))).ToList();
        return f.Aggregate switch
        {
            Aggregate.Min => values.Min(),
            Aggregate.Max => values.Max(),
            _ => values.Average(),
        };
    }

    private static double Ttft(PlatformProfile p, Workload w, bool cc, int c) =>
        ScenarioRunner.Run(p, w, cc, c).Serving?.MeanTtftMicros ?? throw new BridgeInputException(w.Id, "ttft-ratio needs a request-mix workload");

    private static double CopyTime(PlatformProfile p, PublishedFigure f, bool cc)
    {
        var dir = f.Direction == "d2h" ? Direction.DeviceToHost : Direction.HostToDevice;
        var level = f.Level == "api" ? CrossingLevel.Api : CrossingLevel.Dma;
        var program = new SimProgram([[Op.Copy(0, dir, f.Bytes, level, blocking: true), Op.Mark()]], streams: 1, events: 0);
        return Simulator.Run(program, p.For(cc)).MakespanMicros;
    }
}
