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
    // Real attributes are a few bytes; anything larger is not a sysfs attribute.
    private const int MaxAttributeBytes = 4096;

    private readonly SysfsDir dir;
    private readonly string device;
    private readonly List<ScanWarning> warnings;

    // One directory listing per device: absent optional attributes then cost no failed syscalls.
    private readonly HashSet<string> names;

    public SysfsAttributes(SysfsDir dir, string device, List<ScanWarning> warnings)
    {
        this.dir = dir;
        this.device = device;
        this.warnings = warnings;
        names = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            foreach (var name in dir.Names())
            {
                names.Add(name);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Warn("unreadable", $"device directory: {e.Message}");
        }
    }

    public IReadOnlyCollection<string> Names => names;

    public bool Has(string name) => names.Contains(name);

    public SysfsDir Dir => dir;

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

        Span<byte> buffer = stackalloc byte[MaxAttributeBytes + 1];
        var n = dir.Read(name, buffer, out var error, out var detail);
        if (n < 0)
        {
            Missing(name, error, detail, required);
            return null;
        }

        if (n > MaxAttributeBytes)
        {
            Warn("bad-value", $"{name} is larger than {MaxAttributeBytes} bytes, not a sysfs attribute");
            return null;
        }

        return Encoding.ASCII.GetString(buffer[..n]).Trim();
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

        var target = dir.ReadLink(name, out var error, out var detail);
        if (target is null)
        {
            Warn(error switch { FsError.NotALink => "not-a-link", FsError.Loop => "link-loop", _ => "unreadable" },
                error == FsError.NotALink ? $"{name} should be a symlink" : $"{name}: {detail}");
            return null;
        }

        switch (dir.Resolve(name, out detail))
        {
            case FsError.None:
                break;
            case FsError.Loop:
                Warn("link-loop", $"{name}: {detail}");
                return null;
            case FsError.NotFound or FsError.NotADirectory:
                Warn("dangling-link", $"{name} points to {target}, which does not exist");
                break;
            default:
                Warn("unreadable", $"{name}: {detail}");
                break;
        }

        // Still name it: the link text says what the kernel meant even if the target is gone.
        return Path.GetFileName(target.TrimEnd('/'));
    }

    public byte[]? Bytes(string name, int max)
    {
        if (!names.Contains(name))
        {
            Warn("missing-file", $"{name} is missing");
            return null;
        }

        Span<byte> buffer = max < 16384 ? stackalloc byte[max + 1] : new byte[max + 1];
        var read = dir.Read(name, buffer, out var error, out var detail);
        if (read < 0)
        {
            Missing(name, error, detail, required: true);
            return null;
        }

        if (read > max)
        {
            Warn("oversized-config", $"{name} is larger than {max} bytes; reading the first {max}");
            read = max;
        }

        return buffer[..read].ToArray();
    }

    /// <summary>Names why a file could not be read: absent, a dangling or looping link, or unreadable.</summary>
    private void Missing(string name, FsError error, string detail, bool required)
    {
        if (error == FsError.Loop)
        {
            Warn("link-loop", $"{name}: {detail}");
        }
        else if (error == FsError.NotFound)
        {
            var link = dir.ReadLink(name, out _, out _);
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
            Warn("unreadable", $"{name}: {detail}");
        }
    }

    public void Warn(string code, string message) => warnings.Add(new ScanWarning(code, device, message));

    private static string Clip(string s) => s.Length <= 32 ? s : s[..32] + "…";
}
