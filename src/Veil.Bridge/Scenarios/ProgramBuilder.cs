using Veil.Bridge.Engine;
using Veil.Bridge.Platforms;
using Veil.Bridge.Workloads;

namespace Veil.Bridge.Scenarios;

/// <summary>Turns a workload into thread programs for the engine. The same program runs with CC on and off, except where an offload path differs by side.</summary>
internal static class ProgramBuilder
{
    /// <summary>The load of every step of a fixed batch: decode (one token per sequence) or a prefill of <see cref="Workload.PrefillTokens"/> each.</summary>
    public static StepLoad FixedLoad(Workload w, int concurrency) => new(
        concurrency,
        w.PrefillTokens > 0 ? w.PrefillTokens * concurrency : concurrency,
        (double)concurrency * (w.ContextTokens + w.PrefillTokens),
        w.PrefillTokens * concurrency);

    /// <summary>GPU time of one step from the workload's model (roofline on the platform's GPU) or its given time.</summary>
    public static double StepComputeMicros(Workload w, GpuSpec gpu, int concurrency)
    {
        if (w.StepComputeMicros is double us)
        {
            return us;
        }

        var m = w.Model ?? throw new BridgeInputException($"{w.Id}: model", "needed to compute step time");
        var load = FixedLoad(w, concurrency);
        return gpu.KernelMicros(m.WeightBytes + (load.KvTokensRead * m.KvBytesPerToken), 2.0 * m.Parameters * load.Tokens) * w.GpuScale;
    }

    /// <summary>A fixed batch whose every step runs <paramref name="stepMicros"/> of GPU time (± jitter).</summary>
    public static SimProgram Serving(Workload w, double stepMicros, int concurrency, int seed) =>
        Fixed(w, concurrency, seed, _ => new StepPlan(FixedLoad(w, concurrency), stepMicros, null, StepPlan.NoTransfers));

    /// <summary>A fixed batch on a platform: the plan (per layer when weights are offloaded) for the side simulated.</summary>
    public static SimProgram Serving(Workload w, PlatformProfile platform, bool cc, int concurrency, int seed)
    {
        if (w.Offload is null)
        {
            return Serving(w, StepComputeMicros(w, platform.Gpu, concurrency), concurrency, seed);
        }

        var plan = new LayerPlanner(w, platform, cc).Plan(FixedLoad(w, concurrency), StepPlan.NoTransfers);
        return Fixed(w, concurrency, seed, _ => plan);
    }

    public static SimProgram Transfer(Workload w, double hostCopyGBps)
    {
        var t = w.Transfer ?? throw new BridgeInputException($"{w.Id}: transfer", "missing");
        var chunks = (t.TotalBytes + t.ChunkBytes - 1) / t.ChunkBytes;
        var ops = new Op[(chunks * (t.HostGather ? 2 : 1)) + 4];
        var n = 0;
        if (t.AllocInit)
        {
            ops[n++] = Op.AllocInit();
        }

        ops[n++] = Op.Cpu(w.FixedHostMicros);
        var left = t.TotalBytes;
        while (left > 0)
        {
            var size = Math.Min(left, t.ChunkBytes);
            if (t.HostGather)
            {
                ops[n++] = Op.Cpu(size / (hostCopyGBps * 1e3));
            }

            ops[n++] = Op.Copy(StepEmitter.ComputeStream, t.Direction, size, t.Level, t.Blocking);
            left -= size;
        }

        ops[n++] = Op.Sync(StepEmitter.ComputeStream);
        ops[n++] = Op.Mark();
        return new SimProgram([ops[..n]], streams: 1, events: 0, w.Numa);
    }

    private static SimProgram Fixed(Workload w, int concurrency, int seed, Func<int, StepPlan> plan)
    {
        var rng = new Random(seed);
        var steps = w.Steps;
        var first = plan(0);
        var emitter = new StepEmitter(w, first.Layers, ioThread: false, ringSteps: 0);
        var buffer = new OpBuffer([.. Enumerable.Range(0, emitter.Threads).Select(_ => Array.Empty<Op>())], emitter.EventsFor(steps));
        for (var s = 0; s < steps; s++)
        {
            emitter.Emit(buffer, s, s == 0 ? first : plan(s), 1 + (w.Jitter * ((2 * rng.NextDouble()) - 1)), 0);
        }

        emitter.FinishPending(buffer);
        Op[][] threads = [.. Enumerable.Range(0, emitter.Threads).Select(i => buffer.Ops[i][..buffer.Counts[i]])];
        return new SimProgram(threads, LayerPlanner.Streams, emitter.EventsFor(steps), w.Numa);
    }
}
