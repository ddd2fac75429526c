using Microsoft.Win32.SafeHandles;

namespace Veil.Sealing;

/// <summary>Positional reads and writes that do not stop short: each worker owns its own offsets, so no shared stream position.</summary>
internal static class PositionalIo
{
    public static void ReadExactly(SafeFileHandle handle, Span<byte> buffer, long offset, string name)
    {
        var done = 0;
        while (done < buffer.Length)
        {
            var n = RandomAccess.Read(handle, buffer[done..], offset + done);
            if (n == 0)
            {
                throw new SealingException(SealingError.Truncated, $"{name}: ended at byte {offset + done}, expected {buffer.Length - done} more (truncated or changed while reading)");
            }

            done += n;
        }
    }

    public static string TempNameFor(string destination)
    {
        var full = Path.GetFullPath(destination);
        var dir = Path.GetDirectoryName(full) ?? ".";
        return Path.Combine(dir, $".{Path.GetFileName(full)}.partial-{Guid.NewGuid():N}");
    }

    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the original failure is what the caller must see.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
