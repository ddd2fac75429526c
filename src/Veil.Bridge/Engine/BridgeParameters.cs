namespace Veil.Bridge.Engine;

/// <summary>Cost of one crossing direction: a fixed toll per copy plus size over bandwidth.</summary>
/// <param name="TollMicros">Fixed DMA-level cost per copy (µs).</param>
/// <param name="BandwidthGBps">Sustained bandwidth (GB/s = 10⁹ bytes/s).</param>
/// <param name="ApiTollMicros">Whole cost of a framework alloc-and-copy of a small tensor (µs); the part above <paramref name="TollMicros"/> is spent on the issuing thread.</param>
internal readonly record struct CopyCost(double TollMicros, double BandwidthGBps, double ApiTollMicros)
{
    public double ServiceMicros(long bytes, double bandwidthFactor) => TollMicros + (bytes / (BandwidthGBps * bandwidthFactor * 1e3));

    public double ApiExtraMicros => Math.Max(0, ApiTollMicros - TollMicros);
}

/// <summary>The numbers the engine runs on, for one platform with CC either on or off.</summary>
internal sealed record BridgeParameters
{
    public required bool ConfidentialComputing { get; init; }

    public required CopyCost HostToDevice { get; init; }

    public required CopyCost DeviceToHost { get; init; }

    /// <summary>CPU time per kernel launch API call (µs).</summary>
    public required double LaunchMicros { get; init; }

    /// <summary>Multiplier on GPU kernel time (CC leaves compute at ~full speed).</summary>
    public required double ComputeFactor { get; init; }

    /// <summary>Bounce (staging) buffer size: a CC copy is carried in chunks of this size.</summary>
    public required long StagingBytes { get; init; }

    /// <summary>Extra cost per staging chunk after the first (µs); zero where a fitted bandwidth already includes it.</summary>
    public required double ChunkTollMicros { get; init; }

    /// <summary>Bandwidth multiplier when the copying thread and buffer are on the remote NUMA node.</summary>
    public required double RemoteNumaBandwidthFactor { get; init; }

    /// <summary>Host-side staging copy rate (GB/s): what a CPU gather into a pinned buffer sustains.</summary>
    public required double HostCopyGBps { get; init; }

    /// <summary>One-time CUDA allocation/initialisation cost of a process (µs).</summary>
    public required double AllocInitMicros { get; init; }

    /// <summary>CC off: whole fixed cost of a small copy from pageable memory (µs); the part above the DMA toll is the driver's staging set-up on the thread.</summary>
    public double PageableTollMicros { get; init; }

    public CopyCost Cost(Direction d) => d == Direction.HostToDevice ? HostToDevice : DeviceToHost;

    /// <summary>
    /// Thread time a crossing costs before its DMA starts: the framework's work above the DMA toll (API level) or,
    /// with CC off, the driver's pageable staging set-up. With CC on it is spent after the stream drains. The trace
    /// route takes it out of the host gap before a recorded copy, so both routes price a crossing alike.
    /// </summary>
    public double IssueMicros(Direction d, CrossingLevel level, HostMemory memory)
    {
        var cost = Cost(d);
        if (level == CrossingLevel.Api)
        {
            return cost.ApiExtraMicros;
        }

        return !ConfidentialComputing && memory == HostMemory.Pageable ? Math.Max(0, PageableTollMicros - cost.TollMicros) : 0;
    }

    public double NumaFactor(NumaPlacement placement) => placement switch
    {
        NumaPlacement.Local => 1.0,
        NumaPlacement.Remote => RemoteNumaBandwidthFactor,
        _ => (1.0 + RemoteNumaBandwidthFactor) / 2.0,
    };
}
