using System.Diagnostics;
using System.Runtime.InteropServices;

/// <summary>
/// Times several operations against each other in short alternating batches (a few milliseconds each), so that load
/// from other work on a shared core, or the core slowing down, falls on all of them alike. Each batch is timed in the
/// calling thread's own CPU time (clock_gettime CLOCK_THREAD_CPUTIME_ID, nanoseconds; the process's CPU time is only
/// read in 10 ms ticks), so time spent preempted is not counted; what other work does to the caches still is, which
/// is why comparisons are made within a cycle and summarised by their median.
/// </summary>
internal static partial class PairedTiming
{
    /// <summary>Per cycle, each side's microseconds per operation, for about <paramref name="seconds"/> of cycles.</summary>
    public static async Task<double[][]> Run(double seconds, params (Func<Task> Op, int Batch)[] sides)
    {
        var cycles = new List<double[]>();
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds)
        {
            var row = new double[sides.Length];
            for (var s = 0; s < sides.Length; s++)
            {
                var (op, batch) = sides[s];
                var start = ThreadCpuMicros();
                for (var i = 0; i < batch; i++)
                {
                    await op();
                }

                row[s] = (ThreadCpuMicros() - start) / batch;
            }

            cycles.Add(row);
        }

        return [.. cycles];
    }

    /// <summary>The median of the per-cycle quotient side <paramref name="over"/> ÷ side <paramref name="under"/>, with its quartiles.</summary>
    public static (double Median, double Low, double High) Ratio(double[][] cycles, int over, int under)
    {
        var q = cycles.Select(c => c[over] / c[under]).Order().ToArray();
        return (q[q.Length / 2], q[q.Length / 4], q[q.Length * 3 / 4]);
    }

    /// <summary>The median cost per operation of one side.</summary>
    public static double Median(double[][] cycles, int side)
    {
        var v = cycles.Select(c => c[side]).Order().ToArray();
        return v[v.Length / 2];
    }

    private const int ClockThreadCpuTime = 3;

    private static double ThreadCpuMicros() =>
        ClockGetTime(ClockThreadCpuTime, out var t) == 0 ? (t.Seconds * 1e6) + (t.Nanoseconds / 1e3) : throw new InvalidOperationException("clock_gettime failed");

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);
}
