using Veil.Bridge.Engine;

namespace Veil.Bridge.Traces;

/// <summary>What a trace row did on the GPU.</summary>
internal enum TraceKind
{
    Kernel,
    CopyToDevice,
    CopyToHost,
    CopyOnDevice,
    Memset,
}

/// <summary>One row of a CC-off GPU trace (times in ns, as nsys reports them).</summary>
/// <param name="Memory">Host memory of a crossing's host side, when the trace records it (nsys SrcMemKd/DstMemKd, srcKind/dstKind).</param>
/// <param name="Level">The crossing's level when the trace says it (our CSV's <c>level</c> column); otherwise the prediction's policy decides.</param>
internal readonly record struct TraceRecord(long StartNs, long DurationNs, TraceKind Kind, long Bytes, int Stream, HostMemory? Memory = null, CrossingLevel? Level = null)
{
    public long EndNs => StartNs + DurationNs;

    public bool IsCrossing => Kind is TraceKind.CopyToDevice or TraceKind.CopyToHost;

    public Direction Direction => Kind == TraceKind.CopyToHost ? Direction.DeviceToHost : Direction.HostToDevice;
}

/// <summary>
/// Which recorded copies are framework-level (a new tensor per call, paying the API toll) rather than DMA from a
/// persistent buffer. A GPU trace does not say; the default reads pageable host memory as the framework's
/// alloc-and-copy (a tensor built on the fly is pageable, persistent staging buffers are pinned).
/// </summary>
internal enum ApiLevelPolicy
{
    Pageable,
    All,
    None,
}
