namespace Veil.Bridge.Engine;

/// <summary>
/// The work of one GPU context: one op list per host thread, the number of streams and events used.
/// Thread 0 is the one whose <see cref="OpKind.Mark"/> ops count as finished units.
/// </summary>
internal sealed class SimProgram
{
    public SimProgram(IReadOnlyList<Op[]> threads, int streams, int events, NumaPlacement numa = NumaPlacement.Local, IOpSource? source = null)
    {
        ArgumentOutOfRangeException.ThrowIfZero(threads.Count, nameof(threads));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(streams);
        ArgumentOutOfRangeException.ThrowIfNegative(events);
        Threads = threads;
        Streams = streams;
        Events = events;
        Numa = numa;
        Source = source;
    }

    /// <summary>Feeds thread 0 (and others) while the program runs; null for a program given whole.</summary>
    public IOpSource? Source { get; }

    public IReadOnlyList<Op[]> Threads { get; }

    public int Streams { get; }

    public int Events { get; }

    /// <summary>Where the copying threads and their host buffers sit relative to the GPU's NUMA node.</summary>
    public NumaPlacement Numa { get; }

    public long OpCount => Threads.Sum(t => (long)t.Length);
}

/// <summary>NUMA placement of copy threads and host buffers.</summary>
internal enum NumaPlacement
{
    /// <summary>On the GPU's node.</summary>
    Local,

    /// <summary>On the other socket.</summary>
    Remote,

    /// <summary>Not pinned: the scheduler places them on either node, half the time remote.</summary>
    Unpinned,
}
