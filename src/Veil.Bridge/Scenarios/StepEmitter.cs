using Veil.Bridge.Engine;
using Veil.Bridge.Workloads;

namespace Veil.Bridge.Scenarios;

/// <summary>
/// Turns engine steps into ops, one step at a time, for a fixed batch built whole or a request mix fed while it
/// runs. Thread 0 is the scheduler/launch thread; thread 1 the drain worker (mitigation); the last thread, when the
/// KV cache is SGLang-style, the cache controller's I/O thread.
/// </summary>
internal sealed class StepEmitter
{
    public const int ComputeStream = 0;
    public const int OutputStream = 1;
    public const int WorkerStream = 2;
    public const int InputStream = 3;

    /// <summary>Event slots per step: compute done, output done, input done, pre-step transfers done, then one per layer.</summary>
    private const int FixedEvents = 4;

    private readonly Workload w;
    private readonly IReadOnlyList<Crossing> inputs;
    private readonly IReadOnlyList<Crossing> outputs;
    private readonly bool async;
    private readonly int launches;
    private readonly int prefillLaunches;
    private readonly int eventsPerStep;
    private readonly int ring;
    private int? pending;

    /// <param name="layers">Most layers a step may be split into (1 when steps are one kernel sequence).</param>
    /// <param name="ringSteps">Reuse event slots every this many steps (a program fed while it runs); 0 for unique slots.</param>
    public StepEmitter(Workload w, int layers, bool ioThread, int ringSteps)
    {
        this.w = w;
        async = w.Scheduling == Scheduling.Async;
        var crossings = w.Crossings.Where(c => async || !c.AsyncOnly).Select(c => c with { Level = c.LevelFor(w.Scheduling) }).ToList();
        launches = w.LaunchesPerStep;
        prefillLaunches = w.PrefillLaunchesPerStep ?? w.LaunchesPerStep;
        if (w.Coalesced)
        {
            crossings = Coalesce(crossings);
            launches += 1; // the kernel that unpacks the coalesced input buffer on the device
            prefillLaunches += 1;
        }

        inputs = [.. crossings.Where(c => c.Phase == CrossingPhase.Input)];
        outputs = [.. crossings.Where(c => c.Phase == CrossingPhase.Output)];
        eventsPerStep = FixedEvents + layers;
        ring = ringSteps;
        Threads = 1 + (w.DrainWorker ? 1 : 0) + (ioThread ? 1 : 0);
        IoThread = ioThread ? Threads - 1 : -1;
    }

    public int Threads { get; }

    private int IoThread { get; }

    public int EventsFor(int steps) => eventsPerStep * (ring > 0 ? ring : steps);

    /// <summary>Appends step <paramref name="s"/>, decided at <paramref name="now"/> (the I/O thread starts no earlier).</summary>
    public void Emit(OpBuffer b, int s, StepPlan plan, double jitter, double now)
    {
        if (ring > 0)
        {
            b.ResetEvents(Ev(s, 0), eventsPerStep);
        }

        var load = plan.Load;
        b.Add(0, Op.Cpu(w.CpuMicrosPerStep));
        if (w.DrainWorker)
        {
            // Inputs go on a side stream so the issuing call does not wait for the running step.
            foreach (var c in inputs)
            {
                b.Add(0, Op.Copy(InputStream, c.Direction, c.SizeFor(load.Sequences, load.Tokens), c.Level, c.Blocking, c.Memory));
            }

            b.Add(0, Op.Record(InputStream, Ev(s, 2)));
            b.Add(0, Op.StreamWait(ComputeStream, Ev(s, 2)));
        }
        else
        {
            foreach (var c in inputs)
            {
                b.Add(0, Op.Copy(ComputeStream, c.Direction, c.SizeFor(load.Sequences, load.Tokens), c.Level, c.Blocking, c.Memory));
            }
        }

        Kernels(b, s, plan, jitter, now);
        if (w.DrainWorker)
        {
            b.Add(0, Op.Record(ComputeStream, Ev(s, 0)));
            b.Add(1, Op.WaitEvent(Ev(s, 0)));
            foreach (var c in outputs)
            {
                b.Add(1, Op.Copy(WorkerStream, c.Direction, c.SizeFor(load.Sequences, load.Tokens), c.Level, blocking: true, c.Memory));
            }

            b.Add(1, Op.Record(WorkerStream, Ev(s, 1)));
            FinishPending(b);
            pending = s;
        }
        else if (async)
        {
            b.Add(0, Op.Record(ComputeStream, Ev(s, 0)));
            b.Add(0, Op.StreamWait(OutputStream, Ev(s, 0)));
            foreach (var c in outputs)
            {
                b.Add(0, Op.Copy(OutputStream, c.Direction, c.SizeFor(load.Sequences, load.Tokens), c.Level, c.Blocking, c.Memory));
            }

            b.Add(0, Op.Record(OutputStream, Ev(s, 1)));
            FinishPending(b);
            pending = s;
        }
        else
        {
            foreach (var c in outputs)
            {
                b.Add(0, Op.Copy(ComputeStream, c.Direction, c.SizeFor(load.Sequences, load.Tokens), c.Level, blocking: true, c.Memory));
            }

            b.Add(0, Op.Sync(ComputeStream));
            b.Add(0, Op.Mark(s));
        }
    }

    /// <summary>With async scheduling (or a drain worker) step N-1's output is processed after step N is launched.</summary>
    public void FinishPending(OpBuffer b)
    {
        if (pending is int p)
        {
            b.Add(0, Op.WaitEvent(Ev(p, 1)));
            b.Add(0, Op.Mark(p));
            pending = null;
        }
    }

    private void Kernels(OpBuffer b, int s, StepPlan plan, double jitter, double now)
    {
        var launches = plan.Load.PrefillTokens > 0 ? prefillLaunches : this.launches;
        var io = IoThread;
        if (io >= 0 && plan.Transfers.Any(t => t.Route != TransferRoute.ComputeStream))
        {
            b.Add(io, Op.IdleUntil(now));
        }

        // Before the step: swaps on the compute stream, or write-backs on a side stream the step waits for.
        var pre = plan.Transfers.Where(t => t.Layer < 0).ToList();
        foreach (var t in pre)
        {
            Transfer(b, t, t.Route == TransferRoute.ComputeStream ? 0 : Math.Max(0, io));
        }

        var side = pre.Where(t => t.Route != TransferRoute.ComputeStream).ToList();
        if (side.Count > 0)
        {
            b.Add(Math.Max(0, io), Op.Record(side[0].Stream, Ev(s, 3)));
            b.Add(0, Op.StreamWait(ComputeStream, Ev(s, 3)));
        }

        if (plan.LayerMicros is not { } layers)
        {
            b.Add(0, Op.Launch(ComputeStream, plan.GpuMicros * jitter, launches));
            return;
        }

        var byLayer = plan.Transfers.Where(t => t.Layer >= 0).ToLookup(t => t.Layer);
        void Issue(int layer)
        {
            if (layer >= layers.Count || !byLayer[layer].Any(t => t.Route != TransferRoute.ComputeStream))
            {
                return;
            }

            var onIo = byLayer[layer].Any(t => !t.Ahead) && io >= 0;
            var thread = onIo ? io : 0;
            var stream = 0;
            foreach (var t in byLayer[layer].Where(t => t.Route != TransferRoute.ComputeStream))
            {
                Transfer(b, t, thread);
                stream = t.Stream;
            }

            b.Add(thread, Op.Record(stream, Ev(s, FixedEvents + layer)));
        }

        // Side transfers not issued ahead (a cache controller's loads) go out on its thread, all layers in order; a
        // prefetching offloader issues layer i+1's copies before it launches layer i.
        var ahead = plan.Transfers.Any(t => t.Layer >= 0 && t.Ahead);
        if (!ahead)
        {
            for (var i = 0; i < layers.Count; i++)
            {
                Issue(i);
            }
        }
        else
        {
            Issue(0);
        }

        for (var i = 0; i < layers.Count; i++)
        {
            if (ahead)
            {
                Issue(i + 1);
            }

            if (byLayer[i].Any(t => t.Route != TransferRoute.ComputeStream))
            {
                b.Add(0, Op.StreamWait(ComputeStream, Ev(s, FixedEvents + i)));
            }

            foreach (var t in byLayer[i].Where(t => t.Route == TransferRoute.ComputeStream))
            {
                Transfer(b, t, 0);
            }

            var n = (launches / layers.Count) + (i < launches % layers.Count ? 1 : 0);
            b.Add(0, Op.Launch(ComputeStream, layers[i] * jitter, n));
        }
    }

    private static void Transfer(OpBuffer b, in LayerTransfer t, int thread)
    {
        var stream = t.Route == TransferRoute.ComputeStream ? ComputeStream : t.Stream;
        var each = t.Bytes / t.Copies;
        for (var k = 0; k < t.Copies; k++)
        {
            var bytes = k == t.Copies - 1 ? t.Bytes - (each * (t.Copies - 1)) : each;
            b.Add(thread, t.Route == TransferRoute.ZeroCopySide
                ? Op.ZeroCopy(stream, t.Direction, bytes)
                : Op.Copy(stream, t.Direction, bytes, t.Level, blocking: false, t.Memory));
        }
    }

    private int Ev(int s, int k) => ((ring > 0 ? s % ring : s) * eventsPerStep) + k;

    /// <summary>One persistent pinned buffer per direction and phase: one DMA-level crossing carrying all the bytes.</summary>
    private static List<Crossing> Coalesce(List<Crossing> crossings) =>
        [.. crossings
            .GroupBy(c => (c.Phase, c.Direction))
            .Select(g => new Crossing(
                $"coalesced-{g.Key.Phase.ToString().ToLowerInvariant()}",
                g.Key.Direction,
                g.Sum(c => c.Bytes),
                g.Sum(c => c.BytesPerSequence),
                CrossingLevel.Dma,
                g.Key.Phase,
                AsyncOnly: false,
                Blocking: g.Any(c => c.Blocking),
                BytesPerToken: g.Sum(c => c.BytesPerToken)))];
}
