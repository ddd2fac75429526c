using System.Runtime.InteropServices;

namespace Veil.Topology.Sysfs;

/// <summary>Why a file-system call failed, reduced to what a scan warning needs to say.</summary>
internal enum FsError
{
    None,
    NotFound,
    Loop,
    NotALink,
    NotADirectory,
    Other,
}

/// <summary>How the scanner reaches sysfs: directory handles on Linux, paths elsewhere (or when asked, for tests).</summary>
internal enum SysfsBackend
{
    Auto,
    Native,
    Managed,
}

/// <summary>
/// One open directory of the sysfs tree: its entry names, the small files and symlinks in it, and its
/// subdirectories. Names are relative to the directory and may contain '/'. Failures come back as an
/// <see cref="FsError"/> plus the system's wording, never as exceptions, so the scanner turns each into a warning.
/// </summary>
internal abstract class SysfsDir : IDisposable
{
    public static SysfsDir? Open(string path, SysfsBackend backend, out FsError error, out string detail) =>
        UseNative(backend)
            ? NativeSysfsDir.OpenPath(path, out error, out detail)
            : ManagedSysfsDir.OpenPath(path, out error, out detail);

    /// <summary>The names of the entries (files, links, subdirectories), without "." and ".."; once per handle. Throws <see cref="IOException"/>.</summary>
    public abstract List<string> Names();

    /// <summary>Reads from the start of <paramref name="name"/> until the buffer is full or the file ends; -1 on failure.</summary>
    public abstract int Read(string name, Span<byte> buffer, out FsError error, out string detail);

    /// <summary>A symlink's text; <see cref="FsError.NotALink"/> when the entry is something else.</summary>
    public abstract string? ReadLink(string name, out FsError error, out string detail);

    /// <summary>Whether the entry exists after following its links (NotFound when a link dangles, Loop when it loops).</summary>
    public abstract FsError Resolve(string name, out string detail);

    public abstract SysfsDir? OpenDir(string name, out FsError error, out string detail);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }

    // Directory handles (openat) need the O_DIRECTORY value of the architecture; the two shipped ones are known.
    private static bool UseNative(SysfsBackend backend) => backend switch
    {
        SysfsBackend.Native => true,
        SysfsBackend.Managed => false,
        _ => OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64,
    };
}

/// <summary>The portable backend: paths through System.IO, exceptions mapped to <see cref="FsError"/>.</summary>
internal sealed class ManagedSysfsDir : SysfsDir
{
    private readonly string path;

    private ManagedSysfsDir(string path) => this.path = path;

    public static ManagedSysfsDir? OpenPath(string path, out FsError error, out string detail)
    {
        if (Directory.Exists(path))
        {
            (error, detail) = (FsError.None, string.Empty);
            return new ManagedSysfsDir(path);
        }

        (error, detail) = Why(path);
        return null;
    }

    public override List<string> Names()
    {
        var names = new List<string>();
        foreach (var entry in Directory.EnumerateFileSystemEntries(path))
        {
            names.Add(Path.GetFileName(entry));
        }

        return names;
    }

    public override int Read(string name, Span<byte> buffer, out FsError error, out string detail)
    {
        try
        {
            using var handle = File.OpenHandle(Path.Combine(path, name), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var read = 0;
            int n;
            while (read < buffer.Length && (n = RandomAccess.Read(handle, buffer[read..], read)) > 0)
            {
                read += n;
            }

            (error, detail) = (FsError.None, string.Empty);
            return read;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            (error, detail) = Classify(e);
            return -1;
        }
    }

    public override string? ReadLink(string name, out FsError error, out string detail)
    {
        try
        {
            var target = new FileInfo(Path.Combine(path, name)).LinkTarget;
            (error, detail) = target is null ? (FsError.NotALink, "not a symbolic link") : (FsError.None, string.Empty);
            return target;
        }
        catch (IOException e)
        {
            (error, detail) = Classify(e);
            return null;
        }
    }

    public override FsError Resolve(string name, out string detail)
    {
        var full = Path.Combine(path, name);
        detail = string.Empty;
        if (Directory.Exists(full))
        {
            return FsError.None;
        }

        try
        {
            // File.Exists is true for a dangling link, so a link is judged by its final target.
            var info = new FileInfo(full);
            if (info.LinkTarget is null)
            {
                return info.Exists ? FsError.None : FsError.NotFound;
            }

            var final = info.ResolveLinkTarget(returnFinalTarget: true);
            return final is not null && (final.Exists || Directory.Exists(final.FullName)) ? FsError.None : FsError.NotFound;
        }
        catch (IOException e)
        {
            (var error, detail) = Classify(e);
            return error;
        }
    }

    public override SysfsDir? OpenDir(string name, out FsError error, out string detail) => OpenPath(Path.Combine(path, name), out error, out detail);

    /// <summary>Why a path that should be there is not: absent, a dangling or looping link, or not a directory.</summary>
    private static (FsError, string) Why(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (info.LinkTarget is not null)
            {
                var final = info.ResolveLinkTarget(returnFinalTarget: true);
                return final is not null && (final.Exists || Directory.Exists(final.FullName)) ? (FsError.NotADirectory, "not a directory") : (FsError.NotFound, "no such file or directory");
            }

            return info.Exists ? (FsError.NotADirectory, "not a directory") : (FsError.NotFound, "no such file or directory");
        }
        catch (IOException e)
        {
            return Classify(e);
        }
    }

    private static (FsError, string) Classify(Exception e) => e switch
    {
        IOException io when IsLoop(io) => (FsError.Loop, e.Message),
        FileNotFoundException or DirectoryNotFoundException => (FsError.NotFound, e.Message),
        _ => (FsError.Other, e.Message),
    };

    private static bool IsLoop(IOException e) =>
        e.Message.Contains("symbolic links", StringComparison.OrdinalIgnoreCase) || e.HResult == 40 || (e.HResult & 0xFFFF) == 40;
}
