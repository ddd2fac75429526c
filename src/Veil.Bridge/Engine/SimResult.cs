namespace Veil.Bridge.Engine;

/// <summary>Where the main (issuing) thread's time went, in µs.</summary>
internal sealed record TimeBreakdown(double Cpu, double Launch, double CopyBlocked, double ApiOverhead, double Waiting);

/// <summary>Outcome of one simulated run.</summary>
/// <param name="MakespanMicros">From zero until the last thread and stream finished.</param>
/// <param name="Marks">Clock of thread 0 at each of its marks: when each unit of work finished.</param>
/// <param name="Main">Time breakdown of thread 0.</param>
/// <param name="ComputeBusyMicros">GPU compute engine busy time.</param>
/// <param name="ChannelBusyMicros">Copy channel (CC on) or copy engines (CC off) busy time.</param>
internal sealed record SimResult(
    double MakespanMicros,
    IReadOnlyList<double> Marks,
    TimeBreakdown Main,
    double ComputeBusyMicros,
    double ChannelBusyMicros,
    long Crossings,
    long Launches,
    long BytesToDevice,
    long BytesToHost);

/// <summary>Counters filled while the engine runs.</summary>
internal sealed class SimAccumulator(int threads)
{
    public double[] Cpu { get; } = new double[threads];

    public double[] Launch { get; } = new double[threads];

    public double[] CopyBlocked { get; } = new double[threads];

    public double[] Api { get; } = new double[threads];

    public double[] Wait { get; } = new double[threads];

    public double ComputeBusy { get; set; }

    public double ChannelBusy { get; set; }

    public long Crossings { get; set; }

    public long Launches { get; set; }

    public long BytesToDevice { get; set; }

    public long BytesToHost { get; set; }

    public SimResult ToResult(double makespan, double[] marks) => new(
        makespan,
        marks,
        new TimeBreakdown(Cpu[0], Launch[0], CopyBlocked[0], Api[0], Wait[0]),
        ComputeBusy,
        ChannelBusy,
        Crossings,
        Launches,
        BytesToDevice,
        BytesToHost);
}
