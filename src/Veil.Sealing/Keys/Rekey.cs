using System.Security.Cryptography;

namespace Veil.Sealing;

/// <summary>What a rotation did: files whose data key it re-wrapped, and files already under the new key.</summary>
public sealed record RekeyResult(int Rewrapped, int AlreadyRotated);

/// <summary>
/// Rotates the key-encryption key of sealed files without touching their bodies: each format-2 header's data key is
/// unwrapped with the old key and wrapped again under the new one, in place. Chunks and the set manifest commit to the
/// header prefix, which does not change, so nothing else is rewritten. A file already under the new key is left as it
/// is, so an interrupted rotation is finished by running it again. Format-1 files bind the wrapped key into every
/// chunk and are refused: they rotate by re-sealing.
/// </summary>
public static class Rekey
{
    /// <summary>Re-wraps a sealed file, or every file of a sealed folder and then its manifest.</summary>
    public static RekeyResult Run(string path, KeyEncryptionKey from, KeyEncryptionKey to)
    {
        if (!Directory.Exists(path))
        {
            return RewrapFile(path, from, to) ? new(1, 0) : new(0, 1);
        }

        // Read the manifest with whichever key it is under now: a rotation stopped half-way has files under both.
        var manifestPath = Path.Combine(path, SealedManifest.FileName);
        SealedManifest manifest;
        try
        {
            manifest = SealedDirectory.ReadManifest(path, from);
        }
        catch (SealingException e) when (e.Error == SealingError.KeyUnwrapFailed)
        {
            manifest = SealedDirectory.ReadManifest(path, to);
        }

        int rewrapped = 0, already = 0;
        foreach (var f in manifest.Files)
        {
            _ = RewrapFile(Path.Combine(path, f.SealedPath), from, to) ? rewrapped++ : already++;
        }

        _ = RewrapFile(manifestPath, from, to) ? rewrapped++ : already++;
        return new(rewrapped, already);
    }

    /// <summary>True when the file was re-wrapped, false when it already was under <paramref name="to"/>.</summary>
    private static bool RewrapFile(string path, KeyEncryptionKey from, KeyEncryptionKey to)
    {
        var name = Path.GetFileName(path);
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        var header = SealedHeader.Read(handle, name);
        if (header.Version == SealedHeader.Version1)
        {
            throw new SealingException(
                SealingError.UnsupportedVersion,
                $"{name}: format 1 binds the wrapped key into every chunk, so its key-encryption key rotates only by re-sealing (veil unseal, then veil seal)");
        }

        var length = RandomAccess.GetLength(handle);
        if (length != header.SealedLength)
        {
            throw new SealingException(
                length < header.SealedLength ? SealingError.Truncated : SealingError.TrailingData,
                $"{name}: {length} bytes where the header says {header.SealedLength}; not rotating a damaged file");
        }

        var dataKey = new byte[SealedHeader.DataKeyLength];
        try
        {
            try
            {
                DataKeyWrap.Unwrap(to, header, dataKey, name);
                return false;
            }
            catch (SealingException e) when (e.Error == SealingError.KeyUnwrapFailed)
            {
                DataKeyWrap.Unwrap(from, header, dataKey, name);
            }

            // The last chunk must open with this data key before its header changes: a rotation never writes a header
            // over a body it cannot vouch for.
            using (var cipher = new ChunkCipher(dataKey, header, header.Digest(), name))
            {
                var last = header.ChunkCount - 1;
                var n = header.ChunkPlaintextLength(last);
                var chunk = new byte[n + SealedHeader.TagLength];
                var plain = new byte[n];
                PositionalIo.ReadExactly(handle, chunk, header.ChunkOffset(last), name);
                cipher.Open(last, chunk, plain);
                CryptographicOperations.ZeroMemory(plain);
            }

            var rewrapped = header with { WrappedDataKey = DataKeyWrap.Wrap(to, header.PrefixBytes(), dataKey) };
            RandomAccess.Write(handle, rewrapped.ToBytes(), 0);
            RandomAccess.FlushToDisk(handle);
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }
}
