namespace Veil.Bridge.Engine;

/// <summary>
/// Feeds a program while it runs: when thread 0 has issued every op it was given, the engine asks for more as of
/// that thread's clock. A serving engine's scheduler works this way: what it batches next depends on which
/// requests have arrived by then, which differs between CC on and off.
/// </summary>
internal interface IOpSource
{
    /// <summary>Appends the next ops (to any thread); false once the program is finished (nothing was appended).</summary>
    bool Refill(double now, OpBuffer buffer);
}

/// <summary>The op lists of every thread, growable, and the event slots they use.</summary>
internal sealed class OpBuffer
{
    private readonly Op[][] ops;
    private readonly int[] counts;

    public OpBuffer(IReadOnlyList<Op[]> threads, int events)
    {
        ops = new Op[threads.Count][];
        counts = new int[threads.Count];
        for (var i = 0; i < threads.Count; i++)
        {
            ops[i] = threads[i];
            counts[i] = threads[i].Length;
        }

        Events = new double[events];
        Array.Fill(Events, double.NaN);
    }

    /// <summary>One array per thread; only the first <see cref="Counts"/> entries are ops.</summary>
    internal Op[][] Ops => ops;

    internal int[] Counts => counts;

    /// <summary>Recorded time of each event, NaN until recorded.</summary>
    internal double[] Events { get; private set; }

    public int Threads => ops.Length;

    public void Add(int thread, in Op op)
    {
        var list = ops[thread];
        if (counts[thread] == list.Length)
        {
            Array.Resize(ref ops[thread], Math.Max(16, list.Length * 2));
        }

        ops[thread][counts[thread]++] = op;
    }

    /// <summary>Marks a range of event slots unrecorded again, for reuse by a later step.</summary>
    public void ResetEvents(int first, int count)
    {
        EnsureEvents(first + count);
        Array.Fill(Events, double.NaN, first, count);
    }

    /// <summary>Makes event ids below <paramref name="count"/> usable.</summary>
    public void EnsureEvents(int count)
    {
        if (count > Events.Length)
        {
            var old = Events.Length;
            var grown = Events;
            Array.Resize(ref grown, Math.Max(count, old * 2));
            Array.Fill(grown, double.NaN, old, grown.Length - old);
            Events = grown;
        }
    }
}
