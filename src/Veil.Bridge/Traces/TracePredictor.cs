using Veil.Bridge.Engine;
using Veil.Bridge.Platforms;

namespace Veil.Bridge.Traces;

/// <summary>A CC-off trace replayed through the model with CC off and on.</summary>
/// <param name="MeasuredMicros">First start to last end in the trace.</param>
/// <param name="PredictedOnMicros">The measured time scaled by the model's CC-on ÷ CC-off ratio.</param>
internal sealed record TracePrediction(
    string Platform,
    long Rows,
    long Kernels,
    long CopiesToDevice,
    long CopiesToHost,
    long BytesToDevice,
    long BytesToHost,
    double MeasuredMicros,
    double ModelOffMicros,
    double ModelOnMicros,
    double PredictedOnMicros,
    double ChannelBusyOnMicros,
    double CopyBlockedOnMicros)
{
    public double Slowdown => ModelOnMicros / ModelOffMicros;
}

/// <summary>
/// Turns a CC-off trace into one issuing thread: GPU-idle gaps become host time (less the launch call the
/// engine adds back), kernels are launches, copies are crossings on their recorded streams.
/// </summary>
internal static class TracePredictor
{
    public static TracePrediction Predict(IReadOnlyList<TraceRecord> trace, PlatformProfile platform)
    {
        var program = Build(trace, platform);
        var off = Simulator.Run(program, platform.Off);
        var on = Simulator.Run(program, platform.On);
        var first = trace.Min(r => r.StartNs);
        var last = trace.Max(r => r.EndNs);
        var measured = (last - first) / 1e3;
        return new TracePrediction(
            platform.Id,
            trace.Count,
            trace.Count(r => r.Kind is TraceKind.Kernel or TraceKind.Memset or TraceKind.CopyOnDevice),
            trace.Count(r => r.Kind == TraceKind.CopyToDevice),
            trace.Count(r => r.Kind == TraceKind.CopyToHost),
            trace.Where(r => r.Kind == TraceKind.CopyToDevice).Sum(r => r.Bytes),
            trace.Where(r => r.Kind == TraceKind.CopyToHost).Sum(r => r.Bytes),
            measured,
            off.MakespanMicros,
            on.MakespanMicros,
            measured * (on.MakespanMicros / off.MakespanMicros),
            on.ChannelBusyMicros,
            on.Main.CopyBlocked);
    }

    internal static SimProgram Build(IReadOnlyList<TraceRecord> trace, PlatformProfile platform)
    {
        var sorted = trace.OrderBy(r => r.StartNs).ToArray();
        var ops = new List<Op>(sorted.Length * 2 + 16);
        var streams = 1;
        var busyUntil = sorted[0].StartNs;
        var launch = platform.Off.LaunchMicros;
        foreach (var r in sorted)
        {
            streams = Math.Max(streams, r.Stream + 1);
            var idle = (r.StartNs - busyUntil) / 1e3;
            var isLaunch = !r.IsCrossing;
            var host = idle - (isLaunch ? launch : 0);
            if (host > 0)
            {
                ops.Add(Op.Cpu(host));
            }

            ops.Add(isLaunch ? Op.Launch(r.Stream, r.DurationNs / 1e3) : Op.Copy(r.Stream, r.Direction, r.Bytes));
            busyUntil = Math.Max(busyUntil, r.EndNs);
        }

        for (var s = 0; s < streams; s++)
        {
            ops.Add(Op.Sync(s));
        }

        ops.Add(Op.Mark());
        return new SimProgram([[.. ops]], streams, events: 0);
    }
}
