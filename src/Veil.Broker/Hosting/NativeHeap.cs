using System.Runtime.InteropServices;

namespace Veil.Broker.Hosting;

/// <summary>
/// Bounds glibc's malloc arenas for the broker process. OpenSSL allocates on every pool thread (the broker keeps 32
/// ready), and glibc gives threads their own arena, up to 8 per core, each keeping the pages its frees leave
/// fragmented. In the soak (bench/RESULTS.md, broker-soak) the arenas grew from 12 to 26 MiB in 80 s of attacks;
/// with at most two arenas they grew by 3 MiB, at no measurable cost in latency. There is no .NET setting for this
/// and the MALLOC_ARENA_MAX variable must be set before the process starts, which `veil broker serve` cannot rely on,
/// so the broker calls mallopt(M_ARENA_MAX) itself, before its threads start allocating. Not glibc (musl, macOS):
/// nothing to do.
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
