using System.Text;
using Veil.Sealing;

namespace Veil.Guest;

/// <summary>What an unseal restored.</summary>
public sealed record UnsealResult(string Target, string KeyId, IReadOnlyList<string> Files, long Bytes);

/// <summary>
/// The agent's last step: read the key id from the sealed header, get the key, restore into the target folder
/// (meant to be a memory medium inside the VM), verify the manifest, and write <c>READY</c> last. On any failure
/// nothing is left in the target: the sealing layer removes partial files and <c>READY</c> is never written.
/// </summary>
public static class UnsealPipeline
{
    public const string ReadyMarker = "READY";

    public static async Task<UnsealResult> RunAsync(string sealedPath, string targetDir, IKeyProvider keys, SealOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new SealOptions();
        var isDir = Directory.Exists(sealedPath);
        if (!isDir && !File.Exists(sealedPath))
        {
            throw new FileNotFoundException($"{sealedPath}: no sealed file or folder");
        }

        RequireEmpty(targetDir);
        var headerPath = isDir ? Path.Combine(sealedPath, SealedManifest.FileName) : sealedPath;
        if (isDir && !File.Exists(headerPath))
        {
            throw new SealingException(SealingError.MissingFile, $"{SealedManifest.FileName}: missing from {sealedPath} (not a sealed folder)");
        }

        var header = SealedFile.ReadHeader(headerPath);
        using var kek = await keys.GetKeyAsync(header.KeyId, cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();

        UnsealResult result;
        if (isDir)
        {
            var manifest = SealedDirectory.Unseal(sealedPath, targetDir, kek, options);
            result = new UnsealResult(targetDir, header.KeyId, [.. manifest.Files.Select(f => f.Path)], manifest.Files.Sum(f => f.Size));
        }
        else
        {
            Directory.CreateDirectory(targetDir);
            var name = Path.GetFileName(sealedPath);
            var plainName = name.EndsWith(SealedManifest.SealedSuffix, StringComparison.Ordinal) && name.Length > SealedManifest.SealedSuffix.Length
                ? name[..^SealedManifest.SealedSuffix.Length]
                : name;
            if (plainName == ReadyMarker)
            {
                throw new SealingException(SealingError.DestinationExists, $"{name}: would restore over the {ReadyMarker} marker");
            }

            var h = SealedFile.Unseal(sealedPath, Path.Combine(targetDir, plainName), kek, options);
            result = new UnsealResult(targetDir, header.KeyId, [plainName], h.PlaintextLength);
        }

        try
        {
            WriteReady(targetDir, result);
        }
        catch
        {
            // Restored but not marked ready (e.g. the set itself holds a file named READY): remove it all.
            foreach (var f in result.Files)
            {
                File.Delete(Path.Combine(targetDir, f));
            }

            throw;
        }

        return result;
    }

    private static void RequireEmpty(string targetDir)
    {
        if (File.Exists(targetDir) || (Directory.Exists(targetDir) && Directory.EnumerateFileSystemEntries(targetDir).Any()))
        {
            throw new SealingException(SealingError.DestinationExists, $"{targetDir}: must be absent or empty");
        }
    }

    /// <summary>Written to a temporary name and renamed, so a reader never sees a half-written marker.</summary>
    private static void WriteReady(string targetDir, UnsealResult result)
    {
        var text = new StringBuilder()
            .Append("key_id ").Append(result.KeyId).Append('\n')
            .Append("files ").Append(result.Files.Count).Append('\n')
            .Append("bytes ").Append(result.Bytes).Append('\n')
            .ToString();
        var temp = Path.Combine(targetDir, "." + ReadyMarker + ".tmp");
        File.WriteAllText(temp, text);
        try
        {
            File.Move(temp, Path.Combine(targetDir, ReadyMarker));
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }
}
