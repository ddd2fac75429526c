using Veil.Bridge.Engine;

namespace Veil.Bridge.Workloads;

/// <summary>Shape of a token-length distribution.</summary>
internal enum LengthShape
{
    Fixed,
    Uniform,
    Exponential,
    Lognormal,
}

/// <summary>
/// Prompt or output lengths of a request mix, drawn from the run's seed and clipped to [Min, Max].
/// <see cref="Mean"/> is the mean before clipping; <see cref="Sigma"/> is the lognormal shape.
/// </summary>
internal sealed record LengthDistribution(LengthShape Shape, double Mean, double Sigma, int Min, int Max)
{
    public static LengthDistribution Fixed(int tokens) => new(LengthShape.Fixed, tokens, 0, tokens, tokens);

    public int Draw(Random rng)
    {
        var v = Shape switch
        {
            LengthShape.Fixed => Mean,
            LengthShape.Uniform => Min + (rng.NextDouble() * (Max - Min)),
            LengthShape.Exponential => -Mean * Math.Log(1 - rng.NextDouble()),
            _ => Math.Exp(Math.Log(Mean) - (Sigma * Sigma / 2) + (Sigma * Normal(rng))),
        };
        return (int)Math.Clamp(Math.Round(v), Min, Max);
    }

    /// <summary>Box–Muller: one standard normal draw.</summary>
    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}

/// <summary>
/// The requests a serving run sees: lengths, and either a Poisson arrival rate (open loop) or, when
/// <see cref="ArrivalRate"/> is null, a fixed number of requests in flight (closed loop: one joins when one leaves;
/// the concurrency comes from the workload's levels or <c>--sweep concurrency=</c>).
/// </summary>
/// <param name="Count">Requests simulated at every level.</param>
/// <param name="PerConcurrency">Further requests per unit of concurrency (a closed-loop sweep then reaches steady state at each level).</param>
internal sealed record RequestMix(LengthDistribution Prompt, LengthDistribution Output, int Count, int PerConcurrency, double? ArrivalRate)
{
    public int CountAt(int concurrency) => Count + (PerConcurrency * (ArrivalRate is null ? concurrency : 0));
}

/// <summary>How the engine's scheduler forms a batch each step (continuous batching).</summary>
/// <param name="ChunkedPrefill">Prefill chunks ride along with decodes in one step up to the token budget (vLLM V1, SGLang
/// mixed chunk); otherwise a step with waiting prompts is a prefill-only step of whole prompts (vLLM V0 default).</param>
internal sealed record BatchingSpec(int MaxSequences, int MaxBatchedTokens, bool ChunkedPrefill)
{
    public static BatchingSpec Default { get; } = new(256, 8192, true);
}

/// <summary>How an engine moves KV blocks between GPU and host memory when it preempts and resumes a request.</summary>
internal enum KvStyle
{
    /// <summary>vLLM V0 swap preemption: one cudaMemcpyAsync per block, per layer, per K and V, on the compute stream before the step.</summary>
    Vllm,

    /// <summary>SGLang hierarchical cache: evicted KV written back to a host tier, loaded back layer by layer on a side stream as the step runs.</summary>
    Sglang,
}

/// <summary>The KV cache an engine manages: the swap volume follows from it and from the request mix (no free parameter).</summary>
/// <param name="BlockTokens">The engine's block (vLLM) or page (SGLang) size in tokens.</param>
/// <param name="GpuCacheBytes">KV capacity in GPU memory.</param>
/// <param name="HostCacheBytes">Host swap space or host tier; a preempted request that does not fit there is recomputed.</param>
internal sealed record KvCacheSpec(KvStyle Style, int BlockTokens, double GpuCacheBytes, double HostCacheBytes);

/// <summary>How offloaded weights reach the GPU on one side (CC off or CC on).</summary>
internal enum OffloadPath
{
    /// <summary>Copied on the compute stream just before the layer that needs them (vLLM V0 functional_call; vLLM under CC after #57404/#57415).</summary>
    Serial,

    /// <summary>Copied on a side stream one layer ahead while the previous layer computes (a prefetching offloader).</summary>
    Prefetch,

    /// <summary>Read by the layer's kernels straight from pinned host memory over the link (UVA; vLLM V1 CPU offload). Not available under CC (notes §3.6).</summary>
    ZeroCopy,
}

/// <summary>Which weights are offloaded.</summary>
internal enum OffloadLayout
{
    /// <summary>Whole layers from the first one on, until the offloaded bytes are reached (vLLM --cpu-offload-gb).</summary>
    Leading,

    /// <summary>The same share of every layer (FlexGen's weight percentage, ZeRO-Inference's layer streaming).</summary>
    Spread,
}

/// <summary>One side's offload path and the host memory the weights live in.</summary>
internal sealed record OffloadSide(OffloadPath Path, HostMemory Memory);

/// <summary>Weights kept in host memory and brought to the GPU every step.</summary>
/// <param name="TensorsPerLayer">Copies per offloaded layer (one per parameter tensor).</param>
/// <param name="Level">API level when the engine makes a new device tensor per copy (<c>.to(device)</c>), DMA level into persistent buffers.</param>
internal sealed record OffloadSpec(double Bytes, int TensorsPerLayer, CrossingLevel Level, OffloadSide Off, OffloadSide On, OffloadLayout Layout = OffloadLayout.Leading)
{
    public OffloadSide For(bool cc) => cc ? On : Off;
}

/// <summary>A CC-off measurement a request-mix workload is calibrated on (GPU time scaled until the CC-off run reproduces it).</summary>
internal enum ServingTargetKind
{
    RequestsPerSecond,
    OutputTokensPerSecond,
    TtftMillis,
}

internal sealed record ServingTarget(ServingTargetKind Kind, double Value);
