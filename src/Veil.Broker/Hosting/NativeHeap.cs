using System.Runtime.InteropServices;

namespace Veil.Broker.Hosting;

/// <summary>
/// Bounds glibc's malloc arenas for the broker process. OpenSSL allocates on every pool thread (the broker keeps 32
/// ready, and up to 60 ran in the soak), and glibc gives each new thread an arena of its own, up to 8 per core, each
/// keeping the pages its frees leave fragmented: in the soak (bench/RESULTS.md, broker-soak) the arenas grew from 12
/// to 26 MiB in 80 s of attacks, and by 3 MiB with MALLOC_ARENA_MAX=2 set before the process started. There is no
/// .NET setting, and `veil broker serve` cannot rely on its environment, so the CLI calls mallopt(M_ARENA_MAX) as its
/// first statement: glibc then reuses the arenas the runtime's own threads made before Main (about six) instead of
/// adding more (long soak: 9 → 32 MiB, against 14 → 46 MiB when the call came only at broker start). An operator who
/// wants the tighter form sets MALLOC_ARENA_MAX, which this leaves alone. Not glibc (musl, macOS): nothing to do.
/// </summary>
public static partial class NativeHeap
{
    private const int MArenaMax = -8;

    /// <summary>One arena per core, at least two: enough that threads rarely wait on a malloc lock.</summary>
    internal static int ArenaLimit => Math.Max(2, Environment.ProcessorCount);

    /// <summary>Sets the arena limit unless MALLOC_ARENA_MAX already says otherwise; true when glibc took it.</summary>
    public static bool BoundArenas(Func<string, string?> environment)
    {
        if (!OperatingSystem.IsLinux() || environment("MALLOC_ARENA_MAX") is { Length: > 0 })
        {
            return false;
        }

        try
        {
            return MallOpt(MArenaMax, ArenaLimit) == 1;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int MallOpt(int param, int value);
}
