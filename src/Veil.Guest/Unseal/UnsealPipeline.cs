using System.Text;
using Veil.Sealing;

namespace Veil.Guest;

/// <summary>What an unseal restored, and how it reached the target (see <see cref="RestoreMode"/>).</summary>
public sealed record UnsealResult(string Target, string KeyId, IReadOnlyList<string> Files, long Bytes, RestoreMode Mode, string? ReadyFile);

/// <summary>
/// The agent's last step: read the key id from the sealed header, get the key, restore into the target folder
/// (meant to be a memory medium inside the VM) through a staging folder, verify the manifest, and only then put the
/// tree in place. The target then holds exactly the sealed tree, nothing else: readiness is the target's appearance
/// (an absent target is created by one rename), the process's exit (an init container), or a ready file the caller
/// names outside the tree. On any failure nothing is left in the target and no ready file is written.
/// </summary>
public static class UnsealPipeline
{
    public static async Task<UnsealResult> RunAsync(
        string sealedPath, string targetDir, IKeyProvider keys, SealOptions? options = null, string? readyFile = null, CancellationToken cancellationToken = default)
    {
        options ??= new SealOptions();
        var isDir = Directory.Exists(sealedPath);
        if (!isDir && !File.Exists(sealedPath))
        {
            throw new FileNotFoundException($"{sealedPath}: no sealed file or folder");
        }

        RequireEmpty(targetDir);
        if (readyFile is not null)
        {
            CheckReadyFile(readyFile, targetDir);
        }

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
            var (manifest, mode) = SealedDirectory.Restore(sealedPath, targetDir, kek, options);
            result = new UnsealResult(targetDir, header.KeyId, [.. manifest.Files.Select(f => f.Path)], manifest.Files.Sum(f => f.Size), mode, readyFile);
        }
        else
        {
            var name = Path.GetFileName(sealedPath);
            var plainName = name.EndsWith(SealedManifest.SealedSuffix, StringComparison.Ordinal) && name.Length > SealedManifest.SealedSuffix.Length
                ? name[..^SealedManifest.SealedSuffix.Length]
                : name;
            var (h, mode) = StagedRestore.Run(targetDir, staging => SealedFile.Unseal(sealedPath, Path.Combine(staging, plainName), kek, options));
            result = new UnsealResult(targetDir, header.KeyId, [plainName], h.PlaintextLength, mode, readyFile);
        }

        if (readyFile is not null)
        {
            try
            {
                WriteReady(readyFile, result);
            }
            catch
            {
                // Restored but not announced: take the plaintext away again rather than leave a tree nobody was told of.
                RemoveRestored(targetDir, result);
                throw;
            }
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

    /// <summary>
    /// The ready file lies outside the restored tree (it must not collide with a model's own files, nor be
    /// served as one of them), and is new: a stale one would announce this restore before it finished.
    /// </summary>
    private static void CheckReadyFile(string readyFile, string targetDir)
    {
        var ready = Path.GetFullPath(readyFile);
        var target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(targetDir));
        if (ready == target || ready.StartsWith(target + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new SealingException(SealingError.DestinationExists, $"ready file {readyFile}: is inside the target {targetDir}; it must lie outside the restored tree");
        }

        if (File.Exists(ready) || Directory.Exists(ready))
        {
            throw new SealingException(SealingError.DestinationExists, $"ready file {readyFile}: already exists; remove it first (a stale one would announce this restore early)");
        }

        if (Path.GetDirectoryName(ready) is not { } dir || !Directory.Exists(dir))
        {
            throw new DirectoryNotFoundException($"ready file {readyFile}: its folder does not exist");
        }
    }

    /// <summary>Written to a temporary name beside it and renamed, so a reader never sees a half-written marker.</summary>
    private static void WriteReady(string readyFile, UnsealResult result)
    {
        var text = new StringBuilder()
            .Append("target ").Append(Path.GetFullPath(result.Target)).Append('\n')
            .Append("key_id ").Append(result.KeyId).Append('\n')
            .Append("files ").Append(result.Files.Count).Append('\n')
            .Append("bytes ").Append(result.Bytes).Append('\n')
            .ToString();
        var ready = Path.GetFullPath(readyFile);
        var temp = Path.Combine(Path.GetDirectoryName(ready)!, "." + Path.GetFileName(ready) + ".tmp-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(temp, text);
        try
        {
            File.Move(temp, ready);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    private static void RemoveRestored(string targetDir, UnsealResult result)
    {
        try
        {
            if (result.Mode == RestoreMode.Renamed)
            {
                Directory.Delete(targetDir, recursive: true);
                return;
            }

            foreach (var entry in Directory.EnumerateFileSystemEntries(targetDir).ToList())
            {
                if (Directory.Exists(entry))
                {
                    Directory.Delete(entry, recursive: true);
                }
                else
                {
                    File.Delete(entry);
                }
            }
        }
        catch (IOException)
        {
            // Best effort; the ready file's failure is what is reported.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
