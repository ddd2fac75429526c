using Veil.Bridge.Engine;
using Veil.Bridge.Platforms;
using Veil.Bridge.Workloads;

namespace Veil.Bridge.Scenarios;

/// <summary>What a request-mix run served, per request averaged.</summary>
/// <param name="MeanTpotMicros">Time per output token after the first, over requests with more than one.</param>
internal sealed record ServingStats(
    int Requests,
    long OutputTokens,
    int Steps,
    double MeanTtftMicros,
    double MeanTpotMicros,
    double MeanLatencyMicros,
    int Preemptions,
    int Recomputes,
    long SwapOutBytes,
    long SwapInBytes);

/// <summary>
/// Feeds a request-mix run to the engine step by step: when the scheduler thread is free, the batch scheduler decides
/// the next step as of that moment (arrivals depend on it), the planner prices it, and the emitter appends its ops.
/// KV moved by preemption becomes transfers of the engine's style: vLLM's per-block copies before the step, or
/// SGLang's layer-wise write-back and load-back on its cache controller's thread (zero-copy kernels with CC off,
/// copies with CC on, where mapped host memory is unavailable).
/// </summary>
internal sealed class ServingSource : IOpSource
{
    /// <summary>Event slots are reused every this many steps.</summary>
    public const int RingSteps = 16;

    /// <summary>A runaway mix (tiny budget, huge outputs) stops here instead of running for hours.</summary>
    public const int MaxSteps = 400_000;

    private readonly Workload w;
    private readonly BatchScheduler scheduler;
    private readonly LayerPlanner planner;
    private readonly StepEmitter emitter;
    private readonly Random jitter;
    private readonly bool cc;
    private int steps;
    private bool done;

    public ServingSource(Workload w, PlatformProfile platform, bool cc, int concurrency, int seed)
    {
        this.w = w;
        this.cc = cc;
        scheduler = new BatchScheduler(w, concurrency, seed);
        planner = new LayerPlanner(w, platform, cc);
        var layered = w.Offload is not null || w.KvCache is { Style: KvStyle.Sglang };
        emitter = new StepEmitter(w, layered ? w.Model!.Layers : 1, ioThread: w.KvCache is { Style: KvStyle.Sglang }, RingSteps);
        jitter = new Random(seed ^ 0x5eed);
    }

    public SimProgram Program() =>
        new([.. Enumerable.Range(0, emitter.Threads).Select(_ => Array.Empty<Op>())], LayerPlanner.Streams, emitter.EventsFor(0), w.Numa, this);

    public bool Refill(double now, OpBuffer buffer)
    {
        if (done)
        {
            return false;
        }

        var d = scheduler.Next(now);
        if (d.Done)
        {
            done = true;
            var before = buffer.Counts[0];
            emitter.FinishPending(buffer);
            return buffer.Counts[0] > before;
        }

        if (!d.IsStep)
        {
            emitter.FinishPending(buffer);
            buffer.Add(0, Op.IdleUntil(d.IdleUntil));
            return true;
        }

        if (steps >= MaxSteps)
        {
            throw new BridgeInputException($"{w.Id}: requests", $"more than {MaxSteps} engine steps; use fewer or shorter requests");
        }

        var plan = planner.Plan(d.Load, KvTransfers(d));
        emitter.Emit(buffer, steps++, plan, 1 + (w.Jitter * ((2 * jitter.NextDouble()) - 1)), now);
        return true;
    }

    /// <summary>Per-request results, from the times thread 0 marked each step done.</summary>
    public ServingStats Stats(IReadOnlyList<double> marks)
    {
        if (marks.Count != steps)
        {
            throw new InvalidOperationException($"{marks.Count} step marks for {steps} steps");
        }

        var served = scheduler.All.Where(r => r.LastStep >= 0).ToList();
        double Mean(IEnumerable<double> xs) => xs.DefaultIfEmpty(double.NaN).Average();
        var blockBytes = w.KvCache is { } kv ? kv.BlockTokens * w.Model!.KvBytesPerToken : 0;
        return new ServingStats(
            served.Count,
            served.Sum(r => (long)r.Output),
            steps,
            Mean(served.Select(r => marks[r.FirstTokenStep] - r.Arrival)),
            Mean(served.Where(r => r.Output > 1).Select(r => (marks[r.LastStep] - marks[r.FirstTokenStep]) / (r.Output - 1))),
            Mean(served.Select(r => marks[r.LastStep] - r.Arrival)),
            scheduler.Preemptions,
            scheduler.Recomputes,
            (long)(scheduler.SwapOutBlocks * blockBytes),
            (long)(scheduler.SwapInBlocks * blockBytes));
    }

    /// <summary>The KV blocks a step moves, as the engine's style moves them.</summary>
    private List<LayerTransfer> KvTransfers(StepDecision d)
    {
        var list = new List<LayerTransfer>();
        if (w.KvCache is not { } kv || (d.SwapInBlocks == 0 && d.SwapOutBlocks == 0))
        {
            return list;
        }

        var m = w.Model!;
        var layers = m.Layers;
        var blockBytes = kv.BlockTokens * m.KvBytesPerToken;
        void Add(Engine.Direction dir, int blocks, bool layerWise)
        {
            if (blocks == 0)
            {
                return;
            }

            var bytes = (long)(blocks * blockBytes);
            if (kv.Style == KvStyle.Vllm)
            {
                // swap_blocks: one cudaMemcpyAsync per block per layer, for K and V, between GPU blocks and the pinned CPU cache.
                list.Add(new LayerTransfer(-1, dir, bytes, blocks * layers * 2, CrossingLevel.Dma, HostMemory.Pinned, TransferRoute.ComputeStream, StepEmitter.ComputeStream, false));
                return;
            }

            // SGLang host tier: per layer one gather kernel over the host pool with CC off ("kernel" I/O backend, UVA);
            // under CC a copy each for K and V of every layer ("direct" backend; indexing makes a new tensor: API level).
            var route = cc ? TransferRoute.SideStream : TransferRoute.ZeroCopySide;
            var copies = cc ? 2 : 1;
            for (var i = 0; i < layers; i++)
            {
                var share = (bytes / layers) + (i < bytes % layers ? 1 : 0);
                list.Add(new LayerTransfer(layerWise ? i : -1, dir, share, copies, CrossingLevel.Api, HostMemory.Pinned, route, LayerPlanner.KvStream, false));
            }
        }

        // vLLM V0 runs swap-in before swap-out, both ahead of the forward; SGLang writes evicted KV back before the
        // step reuses its pages and loads resumed KV layer by layer as the forward reaches each layer.
        Add(Engine.Direction.HostToDevice, d.SwapInBlocks, layerWise: true);
        Add(Engine.Direction.DeviceToHost, d.SwapOutBlocks, layerWise: false);
        return list;
    }
}
