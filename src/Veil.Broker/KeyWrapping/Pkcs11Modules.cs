using System.Runtime.InteropServices;
using Net.Pkcs11Interop.HighLevelAPI;

namespace Veil.Broker.KeyWrapping;

/// <summary>
/// One loaded PKCS#11 module per path in the process. C_Initialize may run once per process and C_Finalize ends it
/// for every caller, so two wrappers over the same module (old and new key during a rotation) must share it.
/// </summary>
internal static class Pkcs11Modules
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, (IPkcs11Library Library, int Users)> Loaded = new(StringComparer.Ordinal);

    static Pkcs11Modules()
    {
        // Pkcs11Interop loads modules through dlopen from "libdl", a name only glibc's development package provides
        // since glibc 2.34 merged libdl into libc; the runtime library is libdl.so.2 (a stub that keeps it working).
        NativeLibrary.SetDllImportResolver(typeof(IPkcs11Library).Assembly, (name, assembly, path) =>
            name == "libdl" && OperatingSystem.IsLinux() && NativeLibrary.TryLoad("libdl.so.2", out var handle) ? handle : IntPtr.Zero);
    }

    public static Pkcs11InteropFactories Factories { get; } = new();

    public static IPkcs11Library Acquire(string path)
    {
        lock (Gate)
        {
            if (Loaded.TryGetValue(path, out var entry))
            {
                Loaded[path] = (entry.Library, entry.Users + 1);
                return entry.Library;
            }

            var library = Factories.Pkcs11LibraryFactory.LoadPkcs11Library(Factories, path, Net.Pkcs11Interop.Common.AppType.MultiThreaded);
            Loaded[path] = (library, 1);
            return library;
        }
    }

    /// <summary>Drops one use; the last one finalizes the module. A library no longer registered (already finalized) is ignored.</summary>
    public static void Release(string path, IPkcs11Library library)
    {
        lock (Gate)
        {
            if (!Loaded.TryGetValue(path, out var entry) || !ReferenceEquals(entry.Library, library))
            {
                return;
            }

            if (entry.Users > 1)
            {
                Loaded[path] = (library, entry.Users - 1);
                return;
            }

            Loaded.Remove(path);
            library.Dispose();
        }
    }
}
