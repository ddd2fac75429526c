using System.Globalization;
using System.Text;
using Veil.Topology.Inventory;

namespace Veil.Topology.Sysfs;

/// <summary>
/// Reads the small text attributes and symlinks of one sysfs device directory. Every read that fails becomes a
/// named warning for that device instead of an exception, so one broken function never hides the rest.
/// </summary>
internal sealed class SysfsAttributes
{
    private readonly string directory;
    private readonly string device;
    private readonly List<ScanWarning> warnings;

    // One directory listing per device: absent optional attributes then cost no failed syscalls.
    private readonly HashSet<string> names;

    public SysfsAttributes(string directory, string device, List<ScanWarning> warnings)
    {
        this.directory = directory;
        this.device = device;
        this.warnings = warnings;
        names = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            foreach (var entry in System.IO.Directory.EnumerateFileSystemEntries(directory))
            {
                names.Add(Path.GetFileName(entry));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Warn("unreadable", $"device directory: {e.Message}");
        }
    }

    public IReadOnlyCollection<string> Names => names;

    public bool Has(string name) => names.Contains(name);

    // Real attributes are a few bytes; anything larger is not a sysfs attribute.
    private const int MaxAttributeBytes = 4096;

    public string Directory => directory;

    public string? Text(string name, bool required = true)
    {
        if (!names.Contains(name))
        {
            if (required)
            {
                Warn("missing-file", $"{name} is missing");
            }

            return null;
        }

        var path = Path.Combine(directory, name);
        try
        {
            // Open and read once (3 syscalls); only a failure pays for finding out why.
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var buffer = new byte[MaxAttributeBytes + 1];
            var n = RandomAccess.Read(handle, buffer, 0);
            if (n > MaxAttributeBytes)
            {
                Warn("bad-value", $"{name} is larger than {MaxAttributeBytes} bytes, not a sysfs attribute");
                return null;
            }

            return Encoding.ASCII.GetString(buffer, 0, n).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Missing(name, path, e, required);
            return null;
        }
    }

    public uint? Hex(string name, uint max, bool required = true)
    {
        var text = Text(name, required);
        if (text is null)
        {
            return null;
        }

        var digits = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text[2..] : text;
        if (!uint.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var v) || v > max)
        {
            Warn("bad-value", $"{name} = '{Clip(text)}' is not a hex number ≤ 0x{max:x}");
            return null;
        }

        return v;
    }

    public int? Int(string name, bool required = true)
    {
        var text = Text(name, required);
        if (text is null)
        {
            return null;
        }

        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v))
        {
            Warn("bad-value", $"{name} = '{Clip(text)}' is not a number");
            return null;
        }

        return v;
    }

    /// <summary>The last component of a symlink's target (driver name, group number); warns if it dangles.</summary>
    public string? LinkName(string name)
    {
        if (!names.Contains(name))
        {
            return null;
        }

        var path = Path.Combine(directory, name);
        try
        {
            var target = new FileInfo(path).LinkTarget;
            if (target is null)
            {
                if (File.Exists(path) || System.IO.Directory.Exists(path))
                {
                    Warn("not-a-link", $"{name} should be a symlink");
                }

                return null;
            }

            // Directory.Exists follows the link: false when it dangles or loops (File.Exists is true for a dangling link).
            if (!System.IO.Directory.Exists(path))
            {
                try
                {
                    var final = new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true);
                    if (final is null || !(final.Exists || System.IO.Directory.Exists(final.FullName)))
                    {
                        Warn("dangling-link", $"{name} points to {target}, which does not exist");
                    }
                }
                catch (IOException e) when (IsLoop(e))
                {
                    Warn("link-loop", $"{name}: {e.Message}");
                    return null;
                }
            }

            // Still name it: the link text says what the kernel meant even if the target is gone.
            return Path.GetFileName(target.TrimEnd('/'));
        }
        catch (IOException e)
        {
            Warn(IsLoop(e) ? "link-loop" : "unreadable", $"{name}: {e.Message}");
            return null;
        }
    }

    public byte[]? Bytes(string name, int max)
    {
        if (!names.Contains(name))
        {
            Warn("missing-file", $"{name} is missing");
            return null;
        }

        var path = Path.Combine(directory, name);
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var buffer = new byte[max + 1];
            var read = 0;
            int n;
            while (read < buffer.Length && (n = RandomAccess.Read(handle, buffer.AsSpan(read), read)) > 0)
            {
                read += n;
            }

            if (read > max)
            {
                Warn("oversized-config", $"{name} is larger than {max} bytes; reading the first {max}");
                read = max;
            }

            return buffer.AsSpan(0, read).ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Missing(name, path, e, required: true);
            return null;
        }
    }

    /// <summary>Names why a file could not be read: absent, a dangling or looping link, or unreadable.</summary>
    private void Missing(string name, string path, Exception e, bool required)
    {
        if (e is IOException io && IsLoop(io))
        {
            Warn("link-loop", $"{name}: {e.Message}");
        }
        else if (e is FileNotFoundException or DirectoryNotFoundException)
        {
            var link = new FileInfo(path).LinkTarget;
            if (link is not null)
            {
                Warn("dangling-link", $"{name} points to {link}, which does not exist");
            }
            else if (required)
            {
                Warn("missing-file", $"{name} is missing");
            }
        }
        else
        {
            Warn("unreadable", $"{name}: {e.Message}");
        }
    }

    public void Warn(string code, string message) => warnings.Add(new ScanWarning(code, device, message));

    internal static bool IsLoop(IOException e) =>
        e.Message.Contains("symbolic links", StringComparison.OrdinalIgnoreCase) || e.HResult == 40 || (e.HResult & 0xFFFF) == 40;

    private static string Clip(string s) => s.Length <= 32 ? s : s[..32] + "…";
}
