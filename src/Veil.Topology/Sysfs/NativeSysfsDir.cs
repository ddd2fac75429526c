using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Veil.Topology.Sysfs;

/// <summary>
/// The Linux backend: one directory descriptor per device, and every attribute opened relative to it (openat,
/// readlinkat, faccessat). A scan reads ~10 small files per function; by path, each open walks the whole
/// sysfs path again and .NET adds fstat and two flock calls, which made the scan syscall-bound.
/// </summary>
internal sealed partial class NativeSysfsDir : SysfsDir
{
    private const int AtFdCwd = -100;
    private const int ORdOnly = 0;
    private const int OCloExec = 0x80000;
    private const int ENoEnt = 2;
    private const int ENotDir = 20;
    private const int EInval = 22;
    private const int ELoop = 40;

    // O_DIRECTORY is 0200000 on x86-64 and 040000 on arm64 (asm-generic vs arm64 fcntl.h).
    private static readonly int ODirectory = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x4000 : 0x10000;

    private int fd;
    private bool listed;

    private NativeSysfsDir(int fd) => this.fd = fd;

    public static NativeSysfsDir? OpenPath(string path, out FsError error, out string detail) => OpenAt(AtFdCwd, path, out error, out detail);

    public override List<string> Names()
    {
        // linux_dirent64 records: u64 ino, s64 off, u16 reclen, u8 type, NUL-terminated name (kernel ABI; both
        // supported architectures are little-endian). Listing moves the descriptor's offset, so it is done once.
        if (listed)
        {
            throw new InvalidOperationException("a directory handle is listed once");
        }

        listed = true;
        var names = new List<string>();
        Span<byte> buffer = stackalloc byte[8192];
        nint n;
        while ((n = GetDents64(fd, buffer, buffer.Length)) > 0)
        {
            var records = buffer[..(int)n];
            while (records.Length >= 19)
            {
                var length = BinaryPrimitives.ReadUInt16LittleEndian(records[16..]);
                if (length < 19 || length > records.Length)
                {
                    break;
                }

                var name = records[19..length];
                var end = name.IndexOf((byte)0);
                name = end >= 0 ? name[..end] : name;
                if (!(name.SequenceEqual("."u8) || name.SequenceEqual(".."u8)))
                {
                    names.Add(Encoding.UTF8.GetString(name));
                }

                records = records[length..];
            }
        }

        return n == 0 ? names : throw new IOException(Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError()));
    }

    public override int Read(string name, Span<byte> buffer, out FsError error, out string detail)
    {
        var file = OpenAtRaw(fd, name, ORdOnly | OCloExec);
        if (file < 0)
        {
            (error, detail) = Error(Marshal.GetLastPInvokeError());
            return -1;
        }

        try
        {
            // A short read is the end: sysfs returns a text attribute in one read and a binary one a page at
            // a time (config is at most a page), and regular files (copies, fixtures) read short only at EOF.
            // Stopping there saves the read that would return 0, a syscall per attribute.
            var read = 0;
            while (read < buffer.Length)
            {
                var want = buffer.Length - read;
                var n = ReadRaw(file, buffer[read..], want);
                if (n < 0)
                {
                    (error, detail) = Error(Marshal.GetLastPInvokeError());
                    return -1;
                }

                read += (int)n;
                if (n < want)
                {
                    break;
                }
            }

            (error, detail) = (FsError.None, string.Empty);
            return read;
        }
        finally
        {
            _ = Close(file);
        }
    }

    public override string? ReadLink(string name, out FsError error, out string detail)
    {
        Span<byte> buffer = stackalloc byte[4096];
        var n = ReadLinkAt(fd, name, buffer, buffer.Length);
        if (n < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            (error, detail) = errno == EInval ? (FsError.NotALink, "not a symbolic link") : Error(errno);
            return null;
        }

        (error, detail) = (FsError.None, string.Empty);
        return Encoding.UTF8.GetString(buffer[..(int)n]);
    }

    public override FsError Resolve(string name, out string detail)
    {
        if (FAccessAt(fd, name, 0, 0) == 0)
        {
            detail = string.Empty;
            return FsError.None;
        }

        (var error, detail) = Error(Marshal.GetLastPInvokeError());
        return error;
    }

    public override SysfsDir? OpenDir(string name, out FsError error, out string detail) => OpenAt(fd, name, out error, out detail);

    protected override void Dispose(bool disposing)
    {
        if (fd >= 0)
        {
            _ = Close(fd);
            fd = -1;
        }

        base.Dispose(disposing);
    }

    private static NativeSysfsDir? OpenAt(int dir, string path, out FsError error, out string detail)
    {
        var fd = OpenAtRaw(dir, path, ORdOnly | ODirectory | OCloExec);
        if (fd < 0)
        {
            (error, detail) = Error(Marshal.GetLastPInvokeError());
            return null;
        }

        (error, detail) = (FsError.None, string.Empty);
        return new NativeSysfsDir(fd);
    }

    private static (FsError, string) Error(int errno) => (errno switch
    {
        ENoEnt => FsError.NotFound,
        ELoop => FsError.Loop,
        ENotDir => FsError.NotADirectory,
        _ => FsError.Other,
    }, Marshal.GetPInvokeErrorMessage(errno));

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenAtRaw(int dirfd, string path, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint ReadRaw(int fd, Span<byte> buffer, nint count);

    [LibraryImport("libc", EntryPoint = "readlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint ReadLinkAt(int dirfd, string path, Span<byte> buffer, nint size);

    [LibraryImport("libc", EntryPoint = "faccessat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int FAccessAt(int dirfd, string path, int mode, int flags);

    [LibraryImport("libc", EntryPoint = "getdents64", SetLastError = true)]
    private static partial nint GetDents64(int fd, Span<byte> buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
