using Veil.Bridge.Engine;

namespace Veil.Bridge.Workloads;

/// <summary>Serving loops step by step; transfer moves one block of bytes (a KV restore, a model load).</summary>
internal enum WorkloadKind
{
    Serving,
    Transfer,
}

/// <summary>Whether the engine prepares step N+1 while step N runs (vLLM's async scheduling) or strictly in turn.</summary>
internal enum Scheduling
{
    Async,
    Sync,
}

/// <summary>Inputs are copied before the step's launch, outputs read back after it.</summary>
internal enum CrossingPhase
{
    Input,
    Output,
}

/// <summary>A model, enough to turn batch and context into bytes read and FLOPs per step.</summary>
/// <param name="Parameters">Number of parameters.</param>
/// <param name="BytesPerParameter">2 for BF16, 0.5 for 4-bit.</param>
/// <param name="KvBytesPerToken">KV-cache bytes per token over all layers.</param>
/// <param name="Layers">Transformer layers: what offload and KV transfers are split by.</param>
internal sealed record ModelSpec(string Name, double Parameters, double BytesPerParameter, double KvBytesPerToken, int Layers = 32)
{
    public double WeightBytes => Parameters * BytesPerParameter;
}

/// <summary>One host↔device copy an engine does per step.</summary>
/// <param name="Bytes">Fixed bytes per copy.</param>
/// <param name="BytesPerSequence">Bytes added per sequence in the batch.</param>
/// <param name="BytesPerToken">Bytes added per token scheduled in the step (prefill chunks count every token).</param>
/// <param name="Memory">Host memory of the copy's host side (a persistent pinned buffer, or a pageable tensor the framework builds).</param>
/// <param name="AsyncOnly">Only present with async scheduling (bookkeeping the overlap needs).</param>
/// <param name="Blocking">The engine's call is synchronous even with CC off (cudaMemcpy, <c>.item()</c>); sync-scheduled outputs always are.</param>
/// <param name="SyncLevel">How the engine issues the copy under sync scheduling when that differs from <paramref name="Level"/>
/// (vLLM reads sampled tokens back into a persistent pinned buffer when sync, into a new tensor when async).</param>
internal sealed record Crossing(string Name, Direction Direction, long Bytes, long BytesPerSequence, CrossingLevel Level, CrossingPhase Phase, bool AsyncOnly, bool Blocking = false, CrossingLevel? SyncLevel = null, long BytesPerToken = 0, HostMemory Memory = HostMemory.Pinned)
{
    public long SizeFor(int sequences, int tokens) => Bytes + (BytesPerSequence * sequences) + (BytesPerToken * tokens);

    /// <summary>The level the copy is issued at under the given scheduling.</summary>
    public CrossingLevel LevelFor(Scheduling scheduling) => scheduling == Scheduling.Sync ? SyncLevel ?? Level : Level;
}

/// <summary>A bulk transfer: total bytes in chunks, optionally gathered on the CPU first.</summary>
/// <param name="HostGather">Each chunk is first gathered by the CPU into a pinned staging buffer.</param>
/// <param name="Blocking">The engine's copy call is synchronous even with CC off (a pageable <c>.to(device)</c>).</param>
/// <param name="AllocInit">Include the process's one-time CUDA allocation set-up.</param>
/// <param name="MeasuredOffMicros">Wall time measured with CC off; the non-bridge remainder is held fixed.</param>
internal sealed record TransferSpec(Direction Direction, long TotalBytes, long ChunkBytes, CrossingLevel Level, bool Blocking, bool HostGather, bool AllocInit, double? MeasuredOffMicros);

/// <summary>A workload: what an inference engine makes the bridge do.</summary>
internal sealed record Workload
{
    public required string Id { get; init; }

    public required WorkloadKind Kind { get; init; }

    public required string Description { get; init; }

    /// <summary>Where the numbers of this workload come from (engine behaviour, measurements).</summary>
    public string Source { get; init; } = string.Empty;

    public ModelSpec? Model { get; init; }

    /// <summary>GPU time per step when given directly instead of a model.</summary>
    public double? StepComputeMicros { get; init; }

    /// <summary>Step time measured with CC off; GPU time is solved so that the CC-off run reproduces it.</summary>
    public double? MeasuredOffStepMicros { get; init; }

    /// <summary>Prompt tokens per sequence when each step is a prefill; 0 for decode.</summary>
    public int PrefillTokens { get; init; }

    public int ContextTokens { get; init; }

    public IReadOnlyList<int> Concurrency { get; init; } = [1];

    public int Steps { get; init; } = 1;

    public double CpuMicrosPerStep { get; init; }

    public int LaunchesPerStep { get; init; } = 1;

    /// <summary>Launches of a step that carries prompt tokens, when they differ (prefill eager, decode as a CUDA graph).</summary>
    public int? PrefillLaunchesPerStep { get; init; }

    public Scheduling Scheduling { get; init; } = Scheduling.Sync;

    public IReadOnlyList<Crossing> Crossings { get; init; } = [];

    /// <summary>Relative spread of per-step GPU time (uniform ±jitter), drawn from the run's seed.</summary>
    public double Jitter { get; init; }

    public NumaPlacement Numa { get; init; } = NumaPlacement.Local;

    public TransferSpec? Transfer { get; init; }

    /// <summary>Host time outside the bridge at the start of a transfer (solved from a CC-off measurement).</summary>
    public double FixedHostMicros { get; init; }

    /// <summary>D2H readbacks drained by a worker thread on its own stream; inputs copied on a side stream.</summary>
    public bool DrainWorker { get; init; }

    /// <summary>Per-step crossings coalesced into one persistent buffer per direction.</summary>
    public bool Coalesced { get; init; }

    /// <summary>A request mix served by continuous batching; null for a fixed batch of <see cref="Concurrency"/> sequences.</summary>
    public RequestMix? Requests { get; init; }

    public BatchingSpec Batching { get; init; } = BatchingSpec.Default;

    public KvCacheSpec? KvCache { get; init; }

    public OffloadSpec? Offload { get; init; }

    /// <summary>CC-off measurement of a request-mix run, reproduced by scaling <see cref="GpuScale"/>.</summary>
    public ServingTarget? MeasuredOff { get; init; }

    /// <summary>Multiplier on roofline kernel time (1 unless solved from <see cref="MeasuredOff"/>).</summary>
    public double GpuScale { get; init; } = 1;

    /// <summary>Mitigations applied so far (ids), for reports.</summary>
    public IReadOnlyList<string> Mitigations { get; init; } = [];
}
