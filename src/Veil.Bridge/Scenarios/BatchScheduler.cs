using Veil.Bridge.Workloads;

namespace Veil.Bridge.Scenarios;

/// <summary>One request as the scheduler tracks it.</summary>
internal sealed class ServedRequest(int id, double arrival, int prompt, int output)
{
    public int Id { get; } = id;

    public double Arrival { get; } = arrival;

    public int Prompt { get; } = prompt;

    public int Output { get; } = output;

    /// <summary>Tokens to prefill: the prompt, or prompt and output so far after a preemption by recompute.</summary>
    public int PrefillTarget { get; set; } = prompt;

    public int Prefilled { get; set; }

    public int Generated { get; set; }

    public int Blocks { get; set; }

    /// <summary>Blocks held in host memory while swapped out.</summary>
    public int SwappedBlocks { get; set; }

    public int FirstTokenStep { get; set; } = -1;

    public int LastStep { get; set; } = -1;

    public bool PrefillDone => Prefilled >= PrefillTarget;

    /// <summary>In the running batch (not waiting, swapped out or finished).</summary>
    public bool Running { get; set; }
}

/// <summary>What the scheduler decided for the next step.</summary>
/// <param name="IdleUntil">Nothing to run until then (the next arrival); NaN when a step (or nothing more) follows.</param>
/// <param name="SwapOutBlocks">Blocks preempted to host memory before this step.</param>
/// <param name="SwapInBlocks">Blocks brought back before (vLLM) or during (SGLang) this step.</param>
internal sealed record StepDecision(StepLoad Load, double IdleUntil, int SwapOutBlocks, int SwapInBlocks, bool Done)
{
    public bool IsStep => !Done && double.IsNaN(IdleUntil);
}

/// <summary>
/// Continuous batching over a request mix, as vLLM and SGLang schedule: every step takes the running decodes and, up
/// to the sequence cap and the token budget, prefill chunks (or, without chunked prefill, a prefill-only step of whole
/// prompts, as vLLM V0 gives prefills precedence). With a KV cache, blocks are allocated as sequences grow; when none
/// is free the newest running request is preempted, to host memory if it fits there (swap) or by recompute, and
/// swapped requests come back before new ones are admitted. The swap volume is therefore what the mix, the block size
/// and the cache sizes make it.
/// </summary>
internal sealed class BatchScheduler
{
    private readonly BatchingSpec batching;
    private readonly KvCacheSpec? kv;
    private readonly double blockBytes;
    private readonly Queue<ServedRequest> pending = new();
    private readonly LinkedList<ServedRequest> waiting = new();
    private readonly List<ServedRequest> running = [];
    private readonly Queue<ServedRequest> swapped = new();
    private readonly RequestMix mix;
    private readonly IReadOnlyList<(double Arrival, int Prompt, int Output)>? given;
    private readonly Random rng;
    private readonly int concurrency;
    private readonly int total;
    private int created;
    private int inSystem;
    private long freeBlocks;
    private double hostFree;
    private int step;

    public BatchScheduler(Workload w, int concurrency, int seed)
        : this(w, concurrency, seed, null)
    {
    }

    /// <summary>Requests with the given arrival (open loop), prompt and output lengths instead of drawn ones (hand-checked schedules).</summary>
    internal BatchScheduler(Workload w, int concurrency, IReadOnlyList<(double Arrival, int Prompt, int Output)> requests)
        : this(w, concurrency, 0, requests)
    {
    }

    private BatchScheduler(Workload w, int concurrency, int seed, IReadOnlyList<(double Arrival, int Prompt, int Output)>? given)
    {
        this.given = given;
        mix = w.Requests ?? throw new BridgeInputException($"{w.Id}: requests", "missing");
        batching = w.Batching;
        kv = w.KvCache;
        rng = new Random(seed);
        this.concurrency = Math.Max(1, concurrency);
        total = given?.Count ?? mix.CountAt(concurrency);
        if (kv is not null)
        {
            blockBytes = kv.BlockTokens * w.Model!.KvBytesPerToken;
            freeBlocks = (long)Math.Floor(kv.GpuCacheBytes / blockBytes);
            hostFree = kv.HostCacheBytes;
        }
        else
        {
            freeBlocks = long.MaxValue / 4;
        }

        if (mix.ArrivalRate is double rate)
        {
            var t = 0.0;
            for (var i = 0; i < total; i++)
            {
                t += -Math.Log(1 - rng.NextDouble()) / rate * 1e6;
                pending.Enqueue(New(given?[i].Arrival ?? t));
            }
        }
    }

    public List<ServedRequest> All { get; } = [];

    public int Preemptions { get; private set; }

    public int Recomputes { get; private set; }

    public long SwapOutBlocks { get; private set; }

    public long SwapInBlocks { get; private set; }

    public StepDecision Next(double now) => Next(now, 0, 0);

    private StepDecision Next(double now, int carriedOut, int depth)
    {
        Arrive(now);
        if (running.Count == 0 && waiting.Count == 0 && swapped.Count == 0)
        {
            return pending.TryPeek(out var next)
                ? new StepDecision(default, next.Arrival, 0, 0, false)
                : new StepDecision(default, double.NaN, 0, 0, true);
        }

        var items = new List<(ServedRequest R, int Tokens)>();
        int outBlocks = carriedOut, inBlocks = 0;
        var preempted = false;
        var prefillOnly = !batching.ChunkedPrefill && swapped.Count == 0 && Admit(items, batching.MaxBatchedTokens, wholePrompts: true) > 0;
        if (!prefillOnly)
        {
            foreach (var r in running.Where(r => r.PrefillDone).ToList())
            {
                if (!r.Running)
                {
                    continue; // preempted for an older request earlier in this loop
                }

                while (!Grow(r, r.Prompt + r.Generated))
                {
                    preempted = true;
                    var victim = running[^1];
                    outBlocks += Preempt(victim);
                    if (victim == r)
                    {
                        break;
                    }
                }

                if (r.Running)
                {
                    items.Add((r, 1));
                }
            }

            if (!preempted)
            {
                while (swapped.TryPeek(out var r) && running.Count < batching.MaxSequences && Grow(r, r.Prompt + r.Generated))
                {
                    swapped.Dequeue();
                    hostFree += r.SwappedBlocks * blockBytes;
                    inBlocks += r.SwappedBlocks;
                    r.SwappedBlocks = 0;
                    r.Running = true;
                    running.Add(r);
                    items.Add((r, 1));
                }

                if (batching.ChunkedPrefill && swapped.Count == 0)
                {
                    Admit(items, batching.MaxBatchedTokens - items.Count, wholePrompts: false);
                }
            }
        }

        if (items.Count == 0)
        {
            // Every runnable request was just preempted: schedule again with the blocks that freed (the cache holds
            // the longest request on its own, which the workload check ensures, so the second pass schedules one).
            return preempted && depth == 0
                ? Next(now, outBlocks, depth + 1)
                : throw new BridgeInputException("kv_cache.gpu_cache_bytes", "no request can be scheduled: the cache is too small for the waiting prompt");
        }

        SwapOutBlocks += outBlocks;
        SwapInBlocks += inBlocks;
        return new StepDecision(Advance(items), double.NaN, outBlocks, inBlocks, false);
    }

    private ServedRequest New(double arrival)
    {
        var r = given is { } g
            ? new ServedRequest(created, arrival, g[created].Prompt, g[created].Output)
            : new ServedRequest(created, arrival, mix.Prompt.Draw(rng), mix.Output.Draw(rng));
        created++;
        All.Add(r);
        return r;
    }

    private void Arrive(double now)
    {
        if (mix.ArrivalRate is null)
        {
            while (inSystem < concurrency && created < total)
            {
                waiting.AddLast(New(now));
                inSystem++;
            }

            return;
        }

        while (pending.TryPeek(out var r) && r.Arrival <= now)
        {
            waiting.AddLast(pending.Dequeue());
            inSystem++;
        }
    }

    /// <summary>Partial prefills continue, then new requests join, within the token budget, the sequence cap and the free blocks.</summary>
    private int Admit(List<(ServedRequest R, int Tokens)> items, int budget, bool wholePrompts)
    {
        var admitted = 0;
        foreach (var r in running.Where(r => !r.PrefillDone).ToList())
        {
            var chunk = Math.Min(r.PrefillTarget - r.Prefilled, budget);
            if (chunk <= 0 || !Grow(r, r.Prefilled + chunk))
            {
                break;
            }

            items.Add((r, chunk));
            budget -= chunk;
        }

        while (waiting.First is { } node && running.Count < batching.MaxSequences && budget > 0)
        {
            var r = node.Value;
            var need = r.PrefillTarget - r.Prefilled;
            var chunk = wholePrompts ? need : Math.Min(need, budget);
            if ((wholePrompts && chunk > budget && admitted > 0) || !Grow(r, r.Prefilled + chunk))
            {
                break;
            }

            waiting.RemoveFirst();
            r.Running = true;
            running.Add(r);
            items.Add((r, chunk));
            budget -= chunk;
            admitted++;
        }

        return admitted;
    }

    /// <summary>Allocates blocks so that <paramref name="r"/> holds <paramref name="tokens"/> of KV; false when too few are free.</summary>
    private bool Grow(ServedRequest r, int tokens)
    {
        if (kv is null)
        {
            return true;
        }

        var need = ((tokens + kv.BlockTokens - 1) / kv.BlockTokens) - r.Blocks;
        if (need > freeBlocks)
        {
            return false;
        }

        freeBlocks -= Math.Max(0, need);
        r.Blocks += Math.Max(0, need);
        return true;
    }

    /// <summary>Frees a running request's blocks: to host memory if they fit (returns the blocks swapped), else by recompute.</summary>
    private int Preempt(ServedRequest r)
    {
        // The victim is always the newest running request, the last of the list.
        Preemptions++;
        running.RemoveAt(running.Count - 1);
        r.Running = false;
        freeBlocks += r.Blocks;
        var blocks = r.Blocks;
        r.Blocks = 0;
        if (blocks * blockBytes <= hostFree && blocks > 0)
        {
            hostFree -= blocks * blockBytes;
            r.SwappedBlocks = blocks;
            swapped.Enqueue(r);
            return blocks;
        }

        Recomputes++;
        r.PrefillTarget = r.Prompt + r.Generated;
        r.Prefilled = 0;
        waiting.AddFirst(r);
        return 0;
    }

    /// <summary>Applies the step: tokens generated, prompts advanced, finished requests leave and free their blocks.</summary>
    private StepLoad Advance(List<(ServedRequest R, int Tokens)> items)
    {
        var tokens = 0;
        var prefill = 0;
        var kvRead = 0.0;
        foreach (var (r, n) in items)
        {
            tokens += n;
            if (!r.PrefillDone)
            {
                prefill += n;
                r.Prefilled += n;
                kvRead += r.Prefilled;
                if (!r.PrefillDone)
                {
                    continue;
                }
            }
            else
            {
                kvRead += r.Prompt + r.Generated;
            }

            // A decode, or the prefill chunk that completes the prompt, samples one token.
            r.Generated++;
            if (r.FirstTokenStep < 0)
            {
                r.FirstTokenStep = step;
            }

            if (r.Generated >= r.Output)
            {
                r.LastStep = step;
                r.Running = false;
                freeBlocks += r.Blocks;
                r.Blocks = 0;
                inSystem--;
            }
        }

        running.RemoveAll(r => !r.Running);
        step++;
        return new StepLoad(items.Count, tokens, kvRead, prefill);
    }
}
