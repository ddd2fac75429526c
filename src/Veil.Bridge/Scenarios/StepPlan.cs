using Veil.Bridge.Engine;

namespace Veil.Bridge.Scenarios;

/// <summary>What one engine step processes: the batch the scheduler formed.</summary>
/// <param name="Sequences">Sequences in the batch (decodes and prefill chunks).</param>
/// <param name="Tokens">Tokens processed (a decode counts one, a prefill chunk its length).</param>
/// <param name="KvTokensRead">KV-cache tokens attention reads, summed over the batch.</param>
/// <param name="PrefillTokens">Tokens of prompt chunks among <paramref name="Tokens"/>.</param>
internal readonly record struct StepLoad(int Sequences, int Tokens, double KvTokensRead, int PrefillTokens = 0);

/// <summary>Where a transfer of a step runs.</summary>
internal enum TransferRoute
{
    /// <summary>Copies on the compute stream, in order with the kernels (before the layer, or before the step).</summary>
    ComputeStream,

    /// <summary>Copies on a side stream; the layer (or the step) waits for them with an event.</summary>
    SideStream,

    /// <summary>A zero-copy kernel on a side stream reading or writing host memory; the layer (or step) waits for it.</summary>
    ZeroCopySide,
}

/// <summary>Bytes that cross for one layer of a step, or before the step when <see cref="Layer"/> is -1.</summary>
/// <param name="Copies">How many copies carry <see cref="Bytes"/> (each <c>Bytes / Copies</c>).</param>
/// <param name="Stream">Side stream, for side routes.</param>
/// <param name="Ahead">Issued one layer ahead (a prefetch) instead of just before the layer.</param>
internal readonly record struct LayerTransfer(int Layer, Direction Direction, long Bytes, int Copies, CrossingLevel Level, HostMemory Memory, TransferRoute Route, int Stream, bool Ahead);

/// <summary>
/// One step as the emitter turns it into ops: the per-step crossings follow from <see cref="Load"/>; the GPU time is
/// one kernel sequence or one per layer (when transfers are per layer).
/// </summary>
internal sealed record StepPlan(StepLoad Load, double GpuMicros, IReadOnlyList<double>? LayerMicros, IReadOnlyList<LayerTransfer> Transfers)
{
    public static readonly IReadOnlyList<LayerTransfer> NoTransfers = [];

    public int Layers => LayerMicros?.Count ?? 1;
}
