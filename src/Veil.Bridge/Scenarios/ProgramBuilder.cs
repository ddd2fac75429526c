using Veil.Bridge.Engine;
using Veil.Bridge.Platforms;
using Veil.Bridge.Workloads;

namespace Veil.Bridge.Scenarios;

/// <summary>Turns a workload into thread programs for the engine. The same program runs with CC on and off.</summary>
internal static class ProgramBuilder
{
    private const int ComputeStream = 0;
    private const int OutputStream = 1;
    private const int WorkerStream = 2;
    private const int InputStream = 3;

    /// <summary>GPU time of one step from the workload's model (roofline on the platform's GPU) or its given time.</summary>
    public static double StepComputeMicros(Workload w, GpuSpec gpu, int concurrency)
    {
        if (w.StepComputeMicros is double us)
        {
            return us;
        }

        var m = w.Model ?? throw new BridgeInputException($"{w.Id}: model", "needed to compute step time");
        var tokens = w.PrefillTokens > 0 ? (double)w.PrefillTokens * concurrency : concurrency;
        var kvTokens = (double)concurrency * (w.ContextTokens + w.PrefillTokens);
        var bytes = m.WeightBytes + (kvTokens * m.KvBytesPerToken);
        var flops = 2.0 * m.Parameters * tokens;
        return gpu.KernelMicros(bytes, flops);
    }

    public static SimProgram Serving(Workload w, double stepMicros, int concurrency, int seed)
    {
        var rng = new Random(seed);
        var steps = w.Steps;
        var gpu = new double[steps];
        for (var i = 0; i < steps; i++)
        {
            gpu[i] = stepMicros * (1 + (w.Jitter * ((2 * rng.NextDouble()) - 1)));
        }

        var async = w.Scheduling == Scheduling.Async;
        var crossings = w.Crossings.Where(c => async || !c.AsyncOnly).Select(c => c with { Level = c.LevelFor(w.Scheduling) }).ToList();
        var launches = w.LaunchesPerStep;
        if (w.Coalesced)
        {
            crossings = Coalesce(crossings, concurrency);
            launches += 1; // the kernel that unpacks the coalesced input buffer on the device
        }

        var inputs = crossings.Where(c => c.Phase == CrossingPhase.Input).ToArray();
        var outputs = crossings.Where(c => c.Phase == CrossingPhase.Output).ToArray();
        var main = new List<Op>(steps * (inputs.Length + outputs.Length + 8));
        var worker = new List<Op>();
        int ComputeDone(int s) => 3 * s;
        int OutputDone(int s) => (3 * s) + 1;
        int InputDone(int s) => (3 * s) + 2;

        for (var s = 0; s < steps; s++)
        {
            main.Add(Op.Cpu(w.CpuMicrosPerStep));
            if (w.DrainWorker)
            {
                // Inputs go on a side stream so the issuing call does not wait for the running step.
                foreach (var c in inputs)
                {
                    main.Add(Op.Copy(InputStream, c.Direction, c.SizeFor(concurrency), c.Level, c.Blocking));
                }

                main.Add(Op.Record(InputStream, InputDone(s)));
                main.Add(Op.StreamWait(ComputeStream, InputDone(s)));
            }
            else
            {
                foreach (var c in inputs)
                {
                    main.Add(Op.Copy(ComputeStream, c.Direction, c.SizeFor(concurrency), c.Level, c.Blocking));
                }
            }

            main.Add(Op.Launch(ComputeStream, gpu[s], launches));
            if (w.DrainWorker)
            {
                main.Add(Op.Record(ComputeStream, ComputeDone(s)));
                worker.Add(Op.WaitEvent(ComputeDone(s)));
                foreach (var c in outputs)
                {
                    worker.Add(Op.Copy(WorkerStream, c.Direction, c.SizeFor(concurrency), c.Level, blocking: true));
                }

                worker.Add(Op.Record(WorkerStream, OutputDone(s)));
                FinishPrevious(main, s, OutputDone);
            }
            else if (async)
            {
                main.Add(Op.Record(ComputeStream, ComputeDone(s)));
                main.Add(Op.StreamWait(OutputStream, ComputeDone(s)));
                foreach (var c in outputs)
                {
                    main.Add(Op.Copy(OutputStream, c.Direction, c.SizeFor(concurrency), c.Level, c.Blocking));
                }

                main.Add(Op.Record(OutputStream, OutputDone(s)));
                FinishPrevious(main, s, OutputDone);
            }
            else
            {
                foreach (var c in outputs)
                {
                    main.Add(Op.Copy(ComputeStream, c.Direction, c.SizeFor(concurrency), c.Level, blocking: true));
                }

                main.Add(Op.Sync(ComputeStream));
                main.Add(Op.Mark(s));
            }
        }

        if (w.DrainWorker || async)
        {
            main.Add(Op.WaitEvent(OutputDone(steps - 1)));
            main.Add(Op.Mark(steps - 1));
        }

        Op[][] threads = worker.Count > 0 ? [[.. main], [.. worker]] : [[.. main]];
        return new SimProgram(threads, streams: 4, events: 3 * steps, w.Numa);
    }

    public static SimProgram Transfer(Workload w, double hostCopyGBps)
    {
        var t = w.Transfer ?? throw new BridgeInputException($"{w.Id}: transfer", "missing");
        var chunks = (t.TotalBytes + t.ChunkBytes - 1) / t.ChunkBytes;
        var ops = new Op[chunks * (t.HostGather ? 2 : 1) + 4];
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

            ops[n++] = Op.Copy(ComputeStream, t.Direction, size, t.Level, t.Blocking);
            left -= size;
        }

        ops[n++] = Op.Sync(ComputeStream);
        ops[n++] = Op.Mark();
        return new SimProgram([ops[..n]], streams: 1, events: 0, w.Numa);
    }

    /// <summary>With async scheduling the engine processes step N-1's output after launching step N.</summary>
    private static void FinishPrevious(List<Op> main, int s, Func<int, int> outputDone)
    {
        if (s > 0)
        {
            main.Add(Op.WaitEvent(outputDone(s - 1)));
            main.Add(Op.Mark(s - 1));
        }
    }

    /// <summary>One persistent pinned buffer per direction and phase: one DMA-level crossing carrying all the bytes.</summary>
    private static List<Crossing> Coalesce(List<Crossing> crossings, int concurrency) =>
        [.. crossings
            .GroupBy(c => (c.Phase, c.Direction))
            .Select(g => new Crossing(
                $"coalesced-{g.Key.Phase.ToString().ToLowerInvariant()}",
                g.Key.Direction,
                g.Sum(c => c.SizeFor(concurrency)),
                0,
                CrossingLevel.Dma,
                g.Key.Phase,
                AsyncOnly: false,
                Blocking: g.Any(c => c.Blocking)))];
}
