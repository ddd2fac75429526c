using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Veil.Guest.Tests;

/// <summary>
/// Builds Fakes/fake_nvml.c into a shared library once per test run (gcc) and lets tests configure it. The attester
/// loads it by path, exactly as it loads libnvidia-ml.so.1.
/// </summary>
internal static unsafe class FakeNvml
{
    /// <summary>The fake's state is process-wide: every test class that configures it joins this collection.</summary>
    public const string Collection = "fake NVML";

    private static readonly Lazy<string> Built = new(Build);

    public static string LibraryPath => Built.Value;

    /// <summary>Serves <paramref name="report"/> and <paramref name="chain"/> (written to temp files) for every GPU.</summary>
    public static void Configure(byte[] report, byte[] chain, uint gpus = 1, uint ccFeature = 1, uint devTools = 0)
    {
        var dir = Path.GetDirectoryName(LibraryPath)!;
        var r = Path.Combine(dir, $"report-{Guid.NewGuid():N}.bin");
        var c = Path.Combine(dir, $"chain-{Guid.NewGuid():N}.pem");
        File.WriteAllBytes(r, report);
        File.WriteAllBytes(c, chain);
        var configure = (delegate* unmanaged<byte*, byte*, uint, uint, uint, void>)Export("fake_nvml_configure");
        var rp = Marshal.StringToCoTaskMemUTF8(r);
        var cp = Marshal.StringToCoTaskMemUTF8(c);
        try
        {
            configure((byte*)rp, (byte*)cp, gpus, ccFeature, devTools);
        }
        finally
        {
            Marshal.FreeCoTaskMem(rp);
            Marshal.FreeCoTaskMem(cp);
        }
    }

    public static byte[] LastNonce()
    {
        var nonce = new byte[32];
        fixed (byte* p = nonce)
        {
            ((delegate* unmanaged<byte*, void>)Export("fake_nvml_last_nonce"))(p);
        }

        return nonce;
    }

    /// <summary>nvmlDeviceArchitecture_t every GPU reports (9 Hopper by default; reset by <see cref="Configure"/>).</summary>
    public static void SetArch(uint arch) => ((delegate* unmanaged<uint, void>)Export("fake_nvml_set_arch"))(arch);

    /// <summary>The GPUs' ready state as the driver holds it (cleared by <see cref="Configure"/>).</summary>
    public static bool Ready() => ((delegate* unmanaged<uint>)Export("fake_nvml_ready"))() != 0;

    /// <summary>NVML's init count: 0 once every nvmlInit_v2 was matched by nvmlShutdown.</summary>
    public static int InitCount() => ((delegate* unmanaged<int>)Export("fake_nvml_initialized"))();

    private static nint Export(string name) => NativeLibrary.GetExport(NativeLibrary.Load(LibraryPath), name);

    private static string Build()
    {
        var dir = Path.Combine(Path.GetTempPath(), "veil-fake-nvml-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);

        // The library stays mapped until exit; Linux lets the files go now and frees them when unmapped.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        var output = Path.Combine(dir, "libnvidia-ml.so.1");
        var source = Path.Combine(AppContext.BaseDirectory, "Fakes", "fake_nvml.c");
        using var gcc = Process.Start(new ProcessStartInfo("gcc", ["-shared", "-fPIC", "-O1", "-o", output, source])
        {
            RedirectStandardError = true,
        })!;
        var err = gcc.StandardError.ReadToEnd();
        gcc.WaitForExit();
        if (gcc.ExitCode != 0)
        {
            throw new InvalidOperationException("gcc failed building the fake NVML: " + err);
        }

        return output;
    }
}
