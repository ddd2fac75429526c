using System.Runtime.InteropServices;

namespace Veil.Guest;

/// <summary>The lowest layer of the legacy SNP path: one ioctl on <c>/dev/sev-guest</c>. Tests replace only this.</summary>
public interface ISevGuestDevice
{
    /// <summary>Issues <paramref name="request"/> with a pointer to a <c>struct snp_guest_request_ioctl</c>; returns 0 or −errno.</summary>
    int Ioctl(uint request, nint argument);
}

/// <summary>The real device: open(2) + ioctl(2) through libc.</summary>
public sealed partial class LinuxSevGuestDevice : ISevGuestDevice
{
    public const string DefaultPath = "/dev/sev-guest";
    private const int ORdWr = 2;

    private readonly string path;

    public LinuxSevGuestDevice(string path = DefaultPath) => this.path = path;

    public static bool IsPresent(string path = DefaultPath) => File.Exists(path);

    public int Ioctl(uint request, nint argument)
    {
        var fd = Open(path, ORdWr);
        if (fd < 0)
        {
            return -Marshal.GetLastPInvokeError();
        }

        try
        {
            var rc = IoctlNative(fd, request, argument);
            return rc < 0 ? -Marshal.GetLastPInvokeError() : rc;
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int IoctlNative(int fd, nuint request, nint argument);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
