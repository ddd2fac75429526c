using System.Security.Cryptography;

namespace Veil.Sealing;

/// <summary>
/// Seals a folder (e.g. a Hugging Face model folder) file by file plus a sealed manifest, and restores it.
/// Restoring goes through a staging folder (<see cref="StagedRestore"/>) and puts the tree in place only after every
/// file and the manifest verified; on any failure the staging folder is removed, so no plaintext is left behind.
/// </summary>
public static class SealedDirectory
{
    public static SealedManifest Seal(string sourceDir, string outDir, KeyEncryptionKey kek, string keyId, SealOptions? options = null)
    {
        options ??= new SealOptions();
        SealedHeader.ValidateKeyId(keyId);
        if (!Directory.Exists(sourceDir))
        {
            throw new DirectoryNotFoundException($"{sourceDir}: not a directory");
        }

        var created = PrepareEmptyDirectory(outDir);
        try
        {
            var entries = new List<ManifestEntry>();
            foreach (var rel in ListFiles(sourceDir))
            {
                var source = Path.Combine(sourceDir, rel);
                if (rel + SealedManifest.SealedSuffix == SealedManifest.FileName)
                {
                    throw new SealingException(SealingError.InvalidManifest, $"{rel}: its sealed name would collide with {SealedManifest.FileName}");
                }

                var sealedRel = rel + SealedManifest.SealedSuffix;
                var destination = Path.Combine(outDir, sealedRel);
                Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                options.FileStarted?.Invoke(rel, new FileInfo(source).Length);
                var sha = HashFile(source);
                var header = SealedFile.Seal(source, destination, kek, keyId, SealedKind.File, options);
                entries.Add(new ManifestEntry(rel, sealedRel, header.PlaintextLength, sha, Convert.ToHexStringLower(header.Digest())));
            }

            var manifest = new SealedManifest(SealedManifest.FormatName, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), keyId, entries);
            var json = Path.Combine(Path.GetTempPath(), $"veil-manifest-{Guid.NewGuid():N}.json");
            try
            {
                File.WriteAllBytes(json, manifest.ToJson());
                SealedFile.Seal(json, Path.Combine(outDir, SealedManifest.FileName), kek, keyId, SealedKind.Manifest, options with { Progress = null });
            }
            finally
            {
                PositionalIo.TryDelete(json);
            }

            return manifest;
        }
        catch
        {
            RemoveQuietly(outDir, created);
            throw;
        }
    }

    /// <summary>Unseals and validates the manifest of a sealed folder.</summary>
    public static SealedManifest ReadManifest(string sealedDir, KeyEncryptionKey kek)
    {
        var path = Path.Combine(sealedDir, SealedManifest.FileName);
        if (!File.Exists(path))
        {
            throw new SealingException(SealingError.MissingFile, $"{SealedManifest.FileName}: missing from {sealedDir}");
        }

        using var reader = SealedFileReader.Open(path, kek);
        var h = reader.Header;
        if (h.Kind != SealedKind.Manifest)
        {
            throw new SealingException(SealingError.InvalidManifest, $"{SealedManifest.FileName}: header.kind: is {h.Kind}, expected Manifest");
        }

        if (h.PlaintextLength > SealedManifest.MaxLength)
        {
            throw new SealingException(SealingError.InvalidManifest, $"{SealedManifest.FileName}: {h.PlaintextLength} bytes exceeds {SealedManifest.MaxLength}");
        }

        var json = new byte[h.PlaintextLength];
        for (long i = 0; i < h.ChunkCount; i++)
        {
            reader.ReadChunk(i, json.AsSpan((int)(i * h.ChunkSize)));
        }

        var manifest = SealedManifest.Parse(json);
        if (manifest.KeyId != h.KeyId)
        {
            throw new SealingException(SealingError.InvalidManifest, $"manifest.key_id: '{manifest.KeyId}' differs from its header's '{h.KeyId}'");
        }

        return manifest;
    }

    /// <summary>Restores a sealed folder into <paramref name="targetDir"/> (absent or empty).</summary>
    public static SealedManifest Unseal(string sealedDir, string targetDir, KeyEncryptionKey kek, SealOptions? options = null) =>
        Restore(sealedDir, targetDir, kek, options).Manifest;

    /// <summary>
    /// Restores a sealed folder into <paramref name="targetDir"/> (absent or empty) through <see cref="StagedRestore"/>:
    /// the target ends up holding exactly the sealed tree, and says how it got there.
    /// </summary>
    public static (SealedManifest Manifest, RestoreMode Mode) Restore(string sealedDir, string targetDir, KeyEncryptionKey kek, SealOptions? options = null)
    {
        options ??= new SealOptions();
        var manifest = ReadManifest(sealedDir, kek);
        CheckListing(sealedDir, manifest);
        var (_, mode) = StagedRestore.Run(targetDir, staging =>
        {
            foreach (var f in manifest.Files)
            {
                var sealedPath = Path.Combine(sealedDir, f.SealedPath);
                var header = SealedFile.ReadHeader(sealedPath);
                if (Convert.ToHexStringLower(header.Digest()) != f.SealedHeaderSha256 || header.PlaintextLength != f.Size || header.KeyId != manifest.KeyId)
                {
                    throw new SealingException(SealingError.FileNotInSet, $"{f.SealedPath}: is not the file this set's manifest lists (swapped, renamed, or from another sealed set)");
                }

                options.FileStarted?.Invoke(f.Path, f.Size);
                var staged = Path.Combine(staging, f.Path);
                Directory.CreateDirectory(Path.GetDirectoryName(staged)!);
                SealedFile.Unseal(sealedPath, staged, kek, options, SealedKind.File);
                if (HashFile(staged) != f.Sha256)
                {
                    throw new SealingException(SealingError.DigestMismatch, $"{f.Path}: restored plaintext does not match the manifest's SHA-256");
                }
            }

            return manifest;
        });
        return (manifest, mode);
    }

    /// <summary>Every *.veil file must be listed and every listed file present: nothing dropped, nothing added.</summary>
    private static void CheckListing(string sealedDir, SealedManifest manifest)
    {
        var expected = manifest.Files.Select(f => f.SealedPath).ToHashSet(StringComparer.Ordinal);
        var present = ListFiles(sealedDir).Where(p => p != SealedManifest.FileName).ToHashSet(StringComparer.Ordinal);
        var missing = expected.Except(present).Order(StringComparer.Ordinal).FirstOrDefault();
        if (missing is not null)
        {
            throw new SealingException(SealingError.MissingFile, $"{missing}: listed in the manifest but missing from {sealedDir}");
        }

        var extra = present.Except(expected).Order(StringComparer.Ordinal).FirstOrDefault();
        if (extra is not null)
        {
            throw new SealingException(SealingError.UnexpectedFile, $"{extra}: present in {sealedDir} but not listed in the manifest");
        }
    }

    /// <summary>Files under <paramref name="dir"/> as sorted relative paths with forward slashes: what a seal covers.</summary>
    public static IEnumerable<string> ListFiles(string dir) =>
        Directory.EnumerateFiles(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Select(p => Path.GetRelativePath(dir, p).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal);

    internal static string HashFile(string path)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(f));
    }

    /// <summary>Creates the folder or accepts an empty one; returns whether it was created here.</summary>
    private static bool PrepareEmptyDirectory(string dir)
    {
        if (File.Exists(dir))
        {
            throw new SealingException(SealingError.DestinationExists, $"{dir}: exists and is a file");
        }

        if (Directory.Exists(dir))
        {
            if (Directory.EnumerateFileSystemEntries(dir).Any())
            {
                throw new SealingException(SealingError.DestinationExists, $"{dir}: is not empty; refusing to mix with existing files");
            }

            return false;
        }

        Directory.CreateDirectory(dir);
        return true;
    }

    private static void RemoveQuietly(string path, bool removeRoot)
    {
        try
        {
            if (File.Exists(path))
            {
                File.Delete(path);
            }
            else if (Directory.Exists(path))
            {
                if (removeRoot)
                {
                    Directory.Delete(path, recursive: true);
                }
                else
                {
                    foreach (var e in Directory.EnumerateFileSystemEntries(path))
                    {
                        RemoveQuietly(e, true);
                    }
                }
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
