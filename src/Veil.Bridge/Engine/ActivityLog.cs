namespace Veil.Bridge.Engine;

/// <summary>What ran on the GPU, as a profiler records it: the CC-off run of a program written out as a trace.</summary>
internal enum ActivityKind : byte
{
    Kernel,
    Copy,
}

/// <summary>One GPU activity (µs from the start of the run).</summary>
internal readonly record struct Activity(ActivityKind Kind, double StartMicros, double EndMicros, int Stream, long Bytes, Direction Direction, HostMemory Memory, CrossingLevel Level = CrossingLevel.Dma);

/// <summary>Collects GPU activity while the engine runs (only when asked: the benchmark runs without one).</summary>
internal sealed class ActivityLog
{
    public const int MaxRecords = 10_000_000;

    private readonly List<Activity> records = [];

    public IReadOnlyList<Activity> Records => records;

    public void Add(in Activity a)
    {
        if (records.Count >= MaxRecords)
        {
            throw new BridgeInputException("trace output", $"more than {MaxRecords} GPU activities");
        }

        records.Add(a);
    }
}
