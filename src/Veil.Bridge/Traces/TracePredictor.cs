using Veil.Bridge.Engine;
using Veil.Bridge.Platforms;

namespace Veil.Bridge.Traces;

/// <summary>A CC-off trace replayed through the model with CC off and on.</summary>
/// <param name="MeasuredMicros">First start to last end in the trace.</param>
/// <param name="PredictedOnMicros">The measured time scaled by the model's CC-on ÷ CC-off ratio.</param>
/// <param name="ApiCopies">Copies priced as framework-level (API) crossings under the policy.</param>
internal sealed record TracePrediction(
    string Platform,
    long Rows,
    long Kernels,
    long CopiesToDevice,
    long CopiesToHost,
    long BytesToDevice,
    long BytesToHost,
    long ApiCopies,
    ApiLevelPolicy Policy,
    double MeasuredMicros,
    double ModelOffMicros,
    double ModelOnMicros,
    double PredictedOnMicros,
    double ChannelBusyOnMicros,
    double CopyBlockedOnMicros)
{
    public double Slowdown => ModelOnMicros / ModelOffMicros;
}

/// <summary>Reads a trace file: an nsys SQLite export (recognised by its header) or a CSV.</summary>
internal static class TraceFile
{
    public static IReadOnlyList<TraceRecord> Read(string path, string? context = null)
    {
        if (!File.Exists(path))
        {
            throw new BridgeInputException("--trace", $"file not found: {path}");
        }

        return NsysSqlite.IsSqlite(path) ? NsysSqlite.Read(path, context) : TraceCsv.Read(path, context);
    }
}

/// <summary>
/// Turns a CC-off trace into one issuing thread and prices it as the workload route does: GPU-idle gaps become host
/// time, less what the engine adds back (a launch call before a kernel; a crossing's thread cost before its DMA —
/// the API-level toll for framework copies, the pageable staging set-up); kernels are launches; copies are
/// crossings on their recorded streams, at the level and host memory the trace and the policy give. A gap means the
/// GPU waited for the host, so the host's work in it starts when the GPU went idle (the thread first waits for every
/// stream): the CC-off replay then reproduces the recorded timeline. Host work that overlapped GPU activity leaves no
/// gap and is not in a GPU trace at all (async scheduling, a CPU gather behind a DMA): the trace route cannot
/// expose it under CC, where the workload route does.
/// </summary>
internal static class TracePredictor
{
    public static TracePrediction Predict(IReadOnlyList<TraceRecord> trace, PlatformProfile platform, ApiLevelPolicy policy = ApiLevelPolicy.Pageable)
    {
        var program = Build(trace, platform, policy, out var api);
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
            api,
            policy,
            measured,
            off.MakespanMicros,
            on.MakespanMicros,
            measured * (on.MakespanMicros / off.MakespanMicros),
            on.ChannelBusyMicros,
            on.Main.CopyBlocked);
    }

    /// <summary>The level a recorded copy is priced at: what the trace says, else the policy.</summary>
    public static CrossingLevel LevelOf(in TraceRecord r, ApiLevelPolicy policy) => r.Level ?? policy switch
    {
        ApiLevelPolicy.All => CrossingLevel.Api,
        ApiLevelPolicy.Pageable when r.Memory == HostMemory.Pageable => CrossingLevel.Api,
        _ => CrossingLevel.Dma,
    };

    internal static SimProgram Build(IReadOnlyList<TraceRecord> trace, PlatformProfile platform, ApiLevelPolicy policy, out long apiCopies)
    {
        var sorted = trace.OrderBy(r => r.StartNs).ToArray();
        var ops = new List<Op>((sorted.Length * 2) + 16);
        var streams = 1;
        var busyUntil = sorted[0].StartNs;
        var off = platform.Off;
        apiCopies = 0;
        foreach (var r in sorted)
        {
            streams = Math.Max(streams, r.Stream + 1);
            var idle = (r.StartNs - busyUntil) / 1e3;
            Op op;
            double issue;
            if (r.IsCrossing)
            {
                var level = LevelOf(r, policy);
                var memory = r.Memory ?? HostMemory.Pinned;
                apiCopies += level == CrossingLevel.Api ? 1 : 0;
                op = Op.Copy(r.Stream, r.Direction, r.Bytes, level, blocking: false, memory);
                issue = off.IssueMicros(r.Direction, level, memory);
            }
            else
            {
                op = Op.Launch(r.Stream, r.DurationNs / 1e3);
                issue = off.LaunchMicros;
            }

            if (idle - issue > 0)
            {
                for (var st = 0; st < streams; st++)
                {
                    ops.Add(Op.Sync(st));
                }

                ops.Add(Op.Cpu(idle - issue));
            }

            ops.Add(op);
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
