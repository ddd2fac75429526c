using System.Globalization;
using Veil.Topology.Inventory;

namespace Veil.Topology.Sysfs;

/// <summary>
/// Reads the small text attributes and symlinks of one sysfs device directory. Every read that fails becomes a
/// named warning for that device instead of an exception, so one broken function never hides the rest.
/// </summary>
internal sealed class SysfsAttributes(string directory, string device, List<ScanWarning> warnings)
{
    // Real attributes are a few bytes; anything larger is not a sysfs attribute.
    private const int MaxAttributeBytes = 4096;

    public string Directory => directory;

    public string? Text(string name, bool required = true)
    {
        var path = Path.Combine(directory, name);
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists || (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is not { Exists: true }))
            {
                if (info.LinkTarget is not null)
                {
                    Warn("dangling-link", $"{name} points to {info.LinkTarget}, which does not exist");
                }
                else if (required)
                {
                    Warn("missing-file", $"{name} is missing");
                }

                return null;
            }

            if (info.Length > MaxAttributeBytes)
            {
                Warn("bad-value", $"{name} is {info.Length} bytes, not a sysfs attribute");
                return null;
            }

            return File.ReadAllText(path).Trim();
        }
        catch (IOException e)
        {
            Warn(IsLoop(e) ? "link-loop" : "unreadable", $"{name}: {e.Message}");
            return null;
        }
        catch (UnauthorizedAccessException e)
        {
            Warn("unreadable", $"{name}: {e.Message}");
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
        var path = Path.Combine(directory, name);
        try
        {
            var info = new FileInfo(path);
            var target = info.LinkTarget;
            if (target is null)
            {
                if (info.Exists || System.IO.Directory.Exists(path))
                {
                    Warn("not-a-link", $"{name} should be a symlink");
                }

                return null;
            }

            // File.Exists is true for a dangling link (lstat fallback), so resolve explicitly; loops throw here.
            var final = info.ResolveLinkTarget(returnFinalTarget: true);
            if (final is null || !(System.IO.Directory.Exists(final.FullName) || File.Exists(final.FullName)))
            {
                // Still name it: the link text says what the kernel meant even if the target is gone.
                Warn("dangling-link", $"{name} points to {target}, which does not exist");
            }

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
        var path = Path.Combine(directory, name);
        try
        {
            if (!File.Exists(path))
            {
                Warn(new FileInfo(path).LinkTarget is null ? "missing-file" : "dangling-link", $"{name} is missing");
                return null;
            }

            using var stream = File.OpenRead(path);
            var buffer = new byte[max + 1];
            var read = 0;
            int n;
            while (read < buffer.Length && (n = stream.Read(buffer, read, buffer.Length - read)) > 0)
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
        catch (IOException e)
        {
            Warn(IsLoop(e) ? "link-loop" : "unreadable", $"{name}: {e.Message}");
            return null;
        }
        catch (UnauthorizedAccessException e)
        {
            Warn("unreadable", $"{name}: {e.Message}");
            return null;
        }
    }

    public void Warn(string code, string message) => warnings.Add(new ScanWarning(code, device, message));

    internal static bool IsLoop(IOException e) =>
        e.Message.Contains("symbolic links", StringComparison.OrdinalIgnoreCase) || e.HResult == 40 || (e.HResult & 0xFFFF) == 40;

    private static string Clip(string s) => s.Length <= 32 ? s : s[..32] + "…";
}
