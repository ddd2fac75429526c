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
internal readonly record struct TraceRecord(long StartNs, long DurationNs, TraceKind Kind, long Bytes, int Stream)
{
    public long EndNs => StartNs + DurationNs;

    public bool IsCrossing => Kind is TraceKind.CopyToDevice or TraceKind.CopyToHost;

    public Direction Direction => Kind == TraceKind.CopyToHost ? Direction.DeviceToHost : Direction.HostToDevice;
}
