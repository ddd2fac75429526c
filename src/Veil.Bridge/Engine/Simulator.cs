namespace Veil.Bridge.Engine;

/// <summary>
/// Discrete-event model of one GPU context. Host threads issue ops in time order (the thread with the
/// earliest clock goes next, ties to the lower index), so every shared resource — a stream, the GPU's
/// compute engine, the copy engines (CC off) or the single secure copy channel (CC on) — is granted
/// first come, first served. Hand-written: no .NET library models CUDA stream and copy semantics.
/// </summary>
internal static class Simulator
{
    public static SimResult Run(SimProgram program, BridgeParameters p, ActivityLog? log = null)
    {
        var buffer = new OpBuffer(program.Threads, program.Events);
        var source = program.Source;
        Op[][] threads = buffer.Ops;
        var count = buffer.Counts;
        var n = threads.Length;
        var now = new double[n];
        var pc = new int[n];
        var drained = new bool[n];
        var streamFree = new double[program.Streams];
        var events = buffer.Events;
        var marks = new List<double>();
        var acc = new SimAccumulator(n);
        double computeFree = 0, channelFree = 0, h2dEngineFree = 0, d2hEngineFree = 0;
        var numa = p.NumaFactor(program.Numa);
        var cc = p.ConfidentialComputing;

        while (true)
        {
            // One thread needs no arbitration (the common case for traces and transfers).
            var t = n == 1 ? (pc[0] < count[0] && Ready(threads[0][pc[0]], events) ? 0 : -1) : Pick(threads, count, now, pc, events);
            if (source is not null && pc[0] >= count[0] && (t < 0 || now[0] <= now[t]))
            {
                // Thread 0 is out of ops and no other thread is due earlier: its scheduler decides what comes next.
                if (!source.Refill(now[0], buffer))
                {
                    source = null;
                }

                events = buffer.Events;
                continue;
            }

            if (t < 0)
            {
                for (var i = 0; i < n; i++)
                {
                    if (pc[i] < count[i])
                    {
                        throw new InvalidOperationException($"simulated program deadlocks: thread {i} waits at op {pc[i]} for an event nobody records");
                    }
                }

                break;
            }

            var op = threads[t][pc[t]];
            switch (op.Kind)
            {
                case OpKind.Cpu:
                    now[t] += op.Micros;
                    acc.Cpu[t] += op.Micros;
                    break;

                case OpKind.AllocInit:
                    now[t] += p.AllocInitMicros;
                    acc.Cpu[t] += p.AllocInitMicros;
                    break;

                case OpKind.Launch:
                    {
                        // n launches of n equal kernels. Launches are asynchronous: kernel j starts once launch j
                        // returned and kernel j-1 finished, so the GPU runs while the thread issues the next
                        // launches. Charging all n calls before the first kernel (as this engine once did) put a
                        // whole eager step's launch time (300 calls x 13.5 us under CC) on the GPU's critical path
                        // even when the kernels are long enough to hide it (sglang-cc-loss-c256 in figures.yaml).
                        // Kernel j ends at max(first start + j k, t0 + j L + k); the last one's end is therefore
                        // max(first start + K, t0 + n L + K/n): GPU-bound or launch-bound, whichever is longer.
                        var kernels = Math.Max(1, op.Index);
                        var t0 = now[t];
                        var cost = op.Index * p.LaunchMicros;
                        now[t] += cost;
                        acc.Launch[t] += cost;
                        var run = op.Micros * p.ComputeFactor;
                        var each = run / kernels;
                        var start = Math.Max(t0 + (op.Index > 0 ? p.LaunchMicros : 0), Math.Max(streamFree[op.Stream], computeFree));
                        var end = Math.Max(start + run, t0 + cost + each);
                        streamFree[op.Stream] = computeFree = end;
                        acc.ComputeBusy += run;
                        acc.Launches += op.Index;
                        if (log is not null)
                        {
                            // A profiler shows one kernel per launch, each starting when its launch returned and
                            // the previous kernel finished.
                            var begin = start;
                            for (var k = 0; k < kernels; k++)
                            {
                                log.Add(new Activity(ActivityKind.Kernel, begin, begin + each, op.Stream, 0, default, default));
                                begin = Math.Max(begin + each, t0 + ((k + 2) * p.LaunchMicros));
                            }
                        }

                        break;
                    }

                case OpKind.ZeroCopy:
                    {
                        if (cc)
                        {
                            throw new BridgeInputException("program", "a zero-copy (UVA) access under CC: mapped host memory is unavailable there (notes §3.6)");
                        }

                        now[t] += p.LaunchMicros;
                        acc.Launch[t] += p.LaunchMicros;
                        var start = Math.Max(now[t], streamFree[op.Stream]);
                        var run = op.Bytes / (p.Cost(op.Direction).BandwidthGBps * numa * 1e3);
                        streamFree[op.Stream] = start + run;
                        acc.Launches++;
                        if (op.Direction == Direction.HostToDevice)
                        {
                            acc.BytesToDevice += op.Bytes;
                        }
                        else
                        {
                            acc.BytesToHost += op.Bytes;
                        }

                        log?.Add(new Activity(ActivityKind.Kernel, start, start + run, op.Stream, 0, default, default));
                        break;
                    }

                case OpKind.IdleUntil:
                    if (op.Micros > now[t])
                    {
                        acc.Wait[t] += op.Micros - now[t];
                        now[t] = op.Micros;
                    }

                    break;

                case OpKind.Copy:
                    {
                        var cost = p.Cost(op.Direction);
                        if (cc && !drained[t])
                        {
                            // First half of a CC copy: the issuing call waits for everything queued before it on
                            // the stream ("async" copies block), then pays the copy itself — for an API-level
                            // crossing, its per-call toll above the DMA part (notes §3.5: held for the stream's
                            // remaining work plus the copy's own service time; the toll cannot hide behind a running
                            // step). The thread comes back for the channel at that time, so other threads' earlier
                            // requests go first.
                            var begin = now[t];
                            now[t] = Math.Max(now[t], streamFree[op.Stream]);
                            if (op.Level == CrossingLevel.Api)
                            {
                                now[t] += cost.ApiExtraMicros;
                            }

                            acc.CopyBlocked[t] += now[t] - begin;
                            if (n > 1)
                            {
                                drained[t] = true;
                                continue;
                            }
                        }

                        drained[t] = false;
                        var service = cost.ServiceMicros(op.Bytes, numa);
                        acc.Crossings++;
                        if (op.Direction == Direction.HostToDevice)
                        {
                            acc.BytesToDevice += op.Bytes;
                        }
                        else
                        {
                            acc.BytesToHost += op.Bytes;
                        }

                        if (cc)
                        {
                            var chunks = (op.Bytes + p.StagingBytes - 1) / p.StagingBytes;
                            if (chunks > 1)
                            {
                                service += (chunks - 1) * p.ChunkTollMicros;
                            }

                            var start = Math.Max(now[t], channelFree);
                            var end = start + service;
                            acc.CopyBlocked[t] += end - now[t];
                            acc.ChannelBusy += service;
                            channelFree = streamFree[op.Stream] = now[t] = end;
                            log?.Add(new Activity(ActivityKind.Copy, start, end, op.Stream, op.Bytes, op.Direction, op.Memory, op.Level));
                        }
                        else
                        {
                            OffCopy(t, op, service, p, now, streamFree, ref op.Direction == Direction.HostToDevice ? ref h2dEngineFree : ref d2hEngineFree, acc, log);
                        }

                        break;
                    }

                case OpKind.HostWaitStream:
                    if (streamFree[op.Stream] > now[t])
                    {
                        acc.Wait[t] += streamFree[op.Stream] - now[t];
                        now[t] = streamFree[op.Stream];
                    }

                    break;

                case OpKind.RecordEvent:
                    events[op.Index] = Math.Max(streamFree[op.Stream], now[t]);
                    break;

                case OpKind.HostWaitEvent:
                    if (events[op.Index] > now[t])
                    {
                        acc.Wait[t] += events[op.Index] - now[t];
                        now[t] = events[op.Index];
                    }

                    break;

                case OpKind.StreamWaitEvent:
                    streamFree[op.Stream] = Math.Max(streamFree[op.Stream], events[op.Index]);
                    break;

                case OpKind.Mark:
                    if (t == 0)
                    {
                        marks.Add(now[t]);
                    }

                    break;

                default:
                    throw new InvalidOperationException($"unknown op kind {op.Kind}");
            }

            pc[t]++;
        }

        var makespan = 0.0;
        for (var i = 0; i < n; i++)
        {
            makespan = Math.Max(makespan, now[i]);
        }

        foreach (var s in streamFree)
        {
            makespan = Math.Max(makespan, s);
        }

        return acc.ToResult(makespan, [.. marks]);
    }

    /// <summary>
    /// A copy with CC off. Pinned: the thread pays any API-level work, the DMA queues on its stream and direction's
    /// copy engine. Pageable (CUDA's documented staging behaviour): H2D is staged by the thread's memcpy at the host
    /// copy rate while the DMA pipelines behind it, so the call returns after staging; D2H waits for the stream and
    /// the copy, then the staging copy-out, before the call returns.
    /// </summary>
    private static void OffCopy(int t, in Op op, double service, BridgeParameters p, double[] now, double[] streamFree, ref double engine, SimAccumulator acc, ActivityLog? log)
    {
        var issue = p.IssueMicros(op.Direction, op.Level, op.Memory);
        now[t] += issue;
        acc.Api[t] += issue;
        double start, end;
        if (op.Memory == HostMemory.Pageable)
        {
            var staging = op.Bytes / (p.HostCopyGBps * 1e3);
            start = Math.Max(now[t], Math.Max(streamFree[op.Stream], engine));
            if (op.Direction == Direction.HostToDevice)
            {
                end = Math.Max(start + service, now[t] + staging);
                acc.CopyBlocked[t] += staging;
                now[t] += staging;
            }
            else
            {
                end = Math.Max(start + service, start + staging);
                acc.CopyBlocked[t] += end - now[t];
                now[t] = end;
            }
        }
        else
        {
            start = Math.Max(now[t], Math.Max(streamFree[op.Stream], engine));
            end = start + service;
        }

        acc.ChannelBusy += end - start;
        engine = streamFree[op.Stream] = end;
        if (op.Blocking && end > now[t])
        {
            acc.CopyBlocked[t] += end - now[t];
            now[t] = end;
        }

        log?.Add(new Activity(ActivityKind.Copy, start, end, op.Stream, op.Bytes, op.Direction, op.Memory, op.Level));
    }

    /// <summary>An op that waits for an event can run only once the event is recorded.</summary>
    private static bool Ready(in Op op, double[] events) =>
        op.Kind is not (OpKind.HostWaitEvent or OpKind.StreamWaitEvent) || !double.IsNaN(events[op.Index]);

    /// <summary>The runnable thread with the earliest clock; a thread waiting on an unrecorded event is not runnable.</summary>
    private static int Pick(Op[][] threads, int[] count, double[] now, int[] pc, double[] events)
    {
        var best = -1;
        for (var i = 0; i < threads.Length; i++)
        {
            var ops = threads[i];
            if (pc[i] >= count[i])
            {
                continue;
            }

            if (!Ready(ops[pc[i]], events))
            {
                continue;
            }

            if (best < 0 || now[i] < now[best])
            {
                best = i;
            }
        }

        return best;
    }
}
