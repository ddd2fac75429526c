using System.Diagnostics.CodeAnalysis;

namespace Veil.Bridge.Workloads;

// The YAML shapes of a workload file (instantiated by YamlDotNet); WorkloadCatalog checks them field by field and
// builds the immutable records.
[SuppressMessage("Performance", "CA1812", Justification = "Instantiated by YamlDotNet.")]
internal sealed class WorkloadDto
{
    public string? Id { get; set; }

    public string? Kind { get; set; }

    public string? Description { get; set; }

    public string? Source { get; set; }

    public ModelDto? Model { get; set; }

    public double? StepComputeUs { get; set; }

    public double? MeasuredOffStepUs { get; set; }

    public double? PrefillTokens { get; set; }

    public double? ContextTokens { get; set; }

    public List<int>? Concurrency { get; set; }

    public double? Steps { get; set; }

    public double? CpuUsPerStep { get; set; }

    public double? LaunchesPerStep { get; set; }

    public double? PrefillLaunchesPerStep { get; set; }

    public string? Scheduling { get; set; }

    public double? Jitter { get; set; }

    public string? Numa { get; set; }

    public List<CrossingDto?>? Crossings { get; set; }

    public TransferDto? Transfer { get; set; }

    public RequestsDto? Requests { get; set; }

    public BatchingDto? Batching { get; set; }

    public KvCacheDto? KvCache { get; set; }

    public OffloadDto? Offload { get; set; }

    public MeasuredOffDto? MeasuredOff { get; set; }
}

[SuppressMessage("Performance", "CA1812", Justification = "Instantiated by YamlDotNet.")]
internal sealed class ModelDto
{
    public string? Name { get; set; }

    public double? Parameters { get; set; }

    public double? BytesPerParam { get; set; }

    public double? KvBytesPerToken { get; set; }

    public double? Layers { get; set; }
}

[SuppressMessage("Performance", "CA1812", Justification = "Instantiated by YamlDotNet.")]
internal sealed class CrossingDto
{
    public string? Name { get; set; }

    public string? Direction { get; set; }

    public double? Bytes { get; set; }

    public double? BytesPerSeq { get; set; }

    public double? BytesPerToken { get; set; }

    public string? Level { get; set; }

    public string? Memory { get; set; }

    public string? Phase { get; set; }

    public bool? AsyncOnly { get; set; }

    public bool? Blocking { get; set; }

    public string? SyncLevel { get; set; }
}

[SuppressMessage("Performance", "CA1812", Justification = "Instantiated by YamlDotNet.")]
internal sealed class TransferDto
{
    public string? Direction { get; set; }

    public double? TotalBytes { get; set; }

    public double? ChunkBytes { get; set; }

    public string? Level { get; set; }

    public bool? Blocking { get; set; }

    public bool? HostGather { get; set; }

    public bool? AllocInit { get; set; }

    public double? MeasuredOffS { get; set; }
}

[SuppressMessage("Performance", "CA1812", Justification = "Instantiated by YamlDotNet.")]
internal sealed class LengthDto
{
    public string? Dist { get; set; }

    public double? Mean { get; set; }

    public double? Sigma { get; set; }

    public double? Min { get; set; }

    public double? Max { get; set; }
}

[SuppressMessage("Performance", "CA1812", Justification = "Instantiated by YamlDotNet.")]
internal sealed class RequestsDto
{
    public double? Count { get; set; }

    public double? PerConcurrency { get; set; }

    public LengthDto? PromptTokens { get; set; }

    public LengthDto? OutputTokens { get; set; }

    public double? ArrivalRate { get; set; }
}

[SuppressMessage("Performance", "CA1812", Justification = "Instantiated by YamlDotNet.")]
internal sealed class BatchingDto
{
    public double? MaxNumSeqs { get; set; }

    public double? MaxBatchedTokens { get; set; }

    public bool? ChunkedPrefill { get; set; }
}

[SuppressMessage("Performance", "CA1812", Justification = "Instantiated by YamlDotNet.")]
internal sealed class KvCacheDto
{
    public string? Style { get; set; }

    public double? BlockTokens { get; set; }

    public double? GpuCacheBytes { get; set; }

    public double? HostCacheBytes { get; set; }
}

[SuppressMessage("Performance", "CA1812", Justification = "Instantiated by YamlDotNet.")]
internal sealed class OffloadSideDto
{
    public string? Path { get; set; }

    public string? Memory { get; set; }
}

[SuppressMessage("Performance", "CA1812", Justification = "Instantiated by YamlDotNet.")]
internal sealed class OffloadDto
{
    public double? Bytes { get; set; }

    public double? TensorsPerLayer { get; set; }

    public string? Layout { get; set; }

    public string? Level { get; set; }

    public OffloadSideDto? CcOff { get; set; }

    public OffloadSideDto? CcOn { get; set; }
}

[SuppressMessage("Performance", "CA1812", Justification = "Instantiated by YamlDotNet.")]
internal sealed class MeasuredOffDto
{
    public double? RequestsPerS { get; set; }

    public double? OutputTokensPerS { get; set; }

    public double? TtftMs { get; set; }
}
