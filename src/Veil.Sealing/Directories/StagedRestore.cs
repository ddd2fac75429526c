namespace Veil.Sealing;

/// <summary>How a restored tree reached its target.</summary>
public enum RestoreMode
{
    /// <summary>
    /// The target was absent: the tree was built in a hidden staging folder beside it and renamed onto the target
    /// in one step, so the target's appearance alone says the tree is complete.
    /// </summary>
    Renamed,

    /// <summary>
    /// The target was an existing empty folder (e.g. a Kubernetes emptyDir mount point, which cannot be renamed onto):
    /// the tree was built in a hidden staging folder inside it, on the same filesystem, and its entries moved up.
    /// Readers learn completion from the restoring process (its exit, or a ready file outside the tree).
    /// </summary>
    InPlace,
}

/// <summary>
/// Builds a restored tree in a staging folder and puts it in place only when the whole tree was written, so a failure
/// leaves neither plaintext nor a partial tree, and the target ends up holding exactly the restored entries: no marker
/// or staging name remains inside it.
/// </summary>
public static class StagedRestore
{
    internal const string StagingMarker = ".veil-staging-";

    /// <summary>
    /// Runs <paramref name="restore"/> on an empty staging folder, then moves what it wrote to
    /// <paramref name="targetDir"/> (absent, or an empty folder). On any failure everything written is removed.
    /// </summary>
    public static (T Result, RestoreMode Mode) Run<T>(string targetDir, Func<string, T> restore)
    {
        ArgumentNullException.ThrowIfNull(restore);
        var target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(targetDir));
        if (File.Exists(target))
        {
            throw new SealingException(SealingError.DestinationExists, $"{targetDir}: exists and is a file");
        }

        if (Directory.Exists(target))
        {
            if (Directory.EnumerateFileSystemEntries(target).Any())
            {
                throw new SealingException(SealingError.DestinationExists, $"{targetDir}: is not empty; refusing to mix with existing files");
            }

            return (InPlace(target, restore), RestoreMode.InPlace);
        }

        return (Renamed(targetDir, target, restore), RestoreMode.Renamed);
    }

    private static T Renamed<T>(string targetDir, string target, Func<string, T> restore)
    {
        var parent = Path.GetDirectoryName(target)
            ?? throw new SealingException(SealingError.DestinationExists, $"{targetDir}: a filesystem root cannot be restored into by rename");
        Directory.CreateDirectory(parent);
        // Hidden and beside the target: the same filesystem, so the final step is one rename(2).
        var staging = Path.Combine(parent, "." + Path.GetFileName(target) + StagingMarker + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(staging);
        try
        {
            var result = restore(staging);
            try
            {
                Directory.Move(staging, target);
            }
            catch (IOException) when (Directory.Exists(target) || File.Exists(target))
            {
                throw new SealingException(SealingError.DestinationExists, $"{targetDir}: appeared while restoring; refusing to mix with it");
            }

            return result;
        }
        catch
        {
            RemoveQuietly(staging);
            throw;
        }
    }

    private static T InPlace<T>(string target, Func<string, T> restore)
    {
        var staging = Path.Combine(target, StagingMarker + Guid.NewGuid().ToString("N"));
        var moved = new List<string>();
        Directory.CreateDirectory(staging);
        try
        {
            var result = restore(staging);
            foreach (var top in Directory.EnumerateFileSystemEntries(staging).ToList())
            {
                var dest = Path.Combine(target, Path.GetFileName(top));
                moved.Add(dest);
                if (Directory.Exists(top))
                {
                    Directory.Move(top, dest);
                }
                else
                {
                    File.Move(top, dest);
                }
            }

            Directory.Delete(staging);
            return result;
        }
        catch
        {
            foreach (var m in moved)
            {
                RemoveQuietly(m);
            }

            RemoveQuietly(staging);
            throw;
        }
    }

    private static void RemoveQuietly(string path)
    {
        try
        {
            if (File.Exists(path))
            {
                File.Delete(path);
            }
            else if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
            // Best effort; the original failure is reported.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
