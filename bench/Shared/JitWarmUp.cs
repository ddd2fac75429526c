using System.Diagnostics;

/// <summary>
/// Runs the action until tiered JIT has settled: no method compiled during the last 2 s of this process's own CPU
/// time, after at least 3 CPU-seconds (at most 60 s of wall time). Wall time says little when other work shares the
/// core: promotions (tier 0 → instrumented → tier 1) are timer-driven and arrive in bursts, and a fixed 2 s left the
/// hot path unoptimised and the JIT busy during the measurement.
/// </summary>
internal static class JitWarmUp
{
    public static async Task Run(Func<Task> action)
    {
        var process = Process.GetCurrentProcess();
        var total = Stopwatch.StartNew();
        var compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
        var since = Cpu(process);
        while (total.Elapsed.TotalSeconds < 60)
        {
            for (var i = 0; i < 100; i++)
            {
                await action();
            }

            var cpu = Cpu(process);
            if (System.Runtime.JitInfo.GetCompiledMethodCount() is var now && now != compiled)
            {
                (compiled, since) = (now, cpu);
            }
            else if (cpu - since >= 2 && cpu >= 3)
            {
                break;
            }
        }

        Console.Error.WriteLine($"warm-up {total.Elapsed.TotalSeconds:F1} s ({Cpu(process):F1} s CPU)");
    }

    private static double Cpu(Process process)
    {
        process.Refresh();
        return process.UserProcessorTime.TotalSeconds;
    }
}
