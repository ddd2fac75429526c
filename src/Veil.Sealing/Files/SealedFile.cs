using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Veil.Sealing;

/// <summary>
/// Seals and unseals single files: streaming through positional I/O, chunks in parallel, memory bounded by
/// threads × chunk size. Output goes to a temporary name in the destination folder and is renamed only on
/// success, so a failure never leaves a partial sealed file or partial plaintext behind.
/// </summary>
public static class SealedFile
{
    public static SealedHeader Seal(string source, string destination, KeyEncryptionKey kek, string keyId, SealOptions? options = null) =>
        Seal(source, destination, kek, keyId, SealedKind.File, options ?? new SealOptions());

    internal static SealedHeader Seal(string source, string destination, KeyEncryptionKey kek, string keyId, SealedKind kind, SealOptions options)
    {
        SealedHeader.ValidateKeyId(keyId);
        if (options.ChunkSize is < SealedHeader.MinChunkSize or > SealedHeader.MaxChunkSize)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"chunk size must be within {SealedHeader.MinChunkSize}..{SealedHeader.MaxChunkSize}");
        }

        RefuseExisting(destination);
        using var input = File.OpenHandle(source, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        var length = RandomAccess.GetLength(input);
        var dataKey = new byte[SealedHeader.DataKeyLength];
        RandomNumberGenerator.Fill(dataKey);
        try
        {
            var draft = new SealedHeader
            {
                Kind = kind,
                ChunkSize = options.ChunkSize,
                PlaintextLength = length,
                KeyId = keyId,
                FileNonce = RandomNumberGenerator.GetBytes(SealedHeader.FileNonceLength),
                WrappedDataKey = new byte[SealedHeader.WrappedKeyLength],
            };
            var header = draft with { WrappedDataKey = DataKeyWrap.Wrap(kek, draft.PrefixBytes(), dataKey) };
            var headerBytes = header.ToBytes();
            var digest = header.Digest();
            var name = Path.GetFileName(source);

            WriteViaTemp(destination, header.SealedLength, preallocate: true, output =>
            {
                RandomAccess.Write(output, headerBytes, 0);
                ChunkWorkers.Run(
                    header.ChunkCount,
                    options.EffectiveThreads,
                    () => new Worker(new ChunkCipher(dataKey, header, digest, name), header.ChunkSize),
                    (i, w) =>
                    {
                        var n = header.ChunkPlaintextLength(i);
                        var chunk = w.Buffer.AsSpan(0, n + SealedHeader.TagLength);
                        PositionalIo.ReadExactly(input, chunk[..n], i * header.ChunkSize, name);
                        w.Cipher.Seal(i, chunk[..n], chunk);
                        RandomAccess.Write(output, chunk, header.ChunkOffset(i));
                        options.Progress?.Invoke(n);
                    });
                if (RandomAccess.GetLength(input) != length)
                {
                    throw new IOException($"{name}: changed size while being sealed");
                }
            });
            return header;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    /// <summary>Unseals <paramref name="source"/> to <paramref name="destination"/> (which must not exist).</summary>
    public static SealedHeader Unseal(string source, string destination, KeyEncryptionKey kek, SealOptions? options = null) =>
        Unseal(source, destination, kek, options ?? new SealOptions(), expectedKind: SealedKind.File);

    internal static SealedHeader Unseal(string source, string destination, KeyEncryptionKey kek, SealOptions options, SealedKind expectedKind)
    {
        RefuseExisting(destination);
        using var reader = SealedFileReader.Open(source, kek);
        var header = reader.Header;
        if (header.Kind != expectedKind)
        {
            throw new SealingException(SealingError.InvalidHeader, $"{reader.Name}: header.kind: is {header.Kind}, expected {expectedKind}");
        }

        RefuseIfNoRoom(destination, header.PlaintextLength, reader.Name);
        WriteViaTemp(destination, header.PlaintextLength, preallocate: false, output =>
            ChunkWorkers.Run(
                header.ChunkCount,
                options.EffectiveThreads,
                () => new Worker(reader.NewCipher(), header.ChunkSize),
                (i, w) =>
                {
                    var n = reader.OpenChunk(i, w.Cipher, w.Buffer);
                    RandomAccess.Write(output, w.Buffer.AsSpan(0, n), i * header.ChunkSize);
                    options.Progress?.Invoke(n);
                }));
        return header;
    }

    /// <summary>Reads and validates only the header (no key needed).</summary>
    public static SealedHeader ReadHeader(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        return SealedHeader.Read(handle, Path.GetFileName(path));
    }

    private static void RefuseExisting(string destination)
    {
        if (File.Exists(destination) || Directory.Exists(destination))
        {
            throw new SealingException(SealingError.DestinationExists, $"{destination}: already exists; refusing to overwrite");
        }
    }

    /// <summary>
    /// Fails before any decryption when the destination's filesystem cannot hold the plaintext, as preallocation would;
    /// not a reservation (another writer can still fill it), so a later ENOSPC is still possible and still cleaned up.
    /// </summary>
    private static void RefuseIfNoRoom(string destination, long length, string name)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(destination)) ?? ".";
        long free;
        try
        {
            free = new DriveInfo(dir).AvailableFreeSpace;
        }
        catch (IOException)
        {
            // No such folder or no statvfs: creating the output names the problem.
            return;
        }

        if (free < length)
        {
            throw new SealingException(SealingError.InsufficientSpace, $"{name}: restoring needs {length} bytes; {dir} has {free} free");
        }
    }

    /// <summary>
    /// Writes through a temporary file next to the destination; renames on success, deletes on any failure.
    /// Unsealing does not preallocate: on tmpfs (the guest's medium) fallocate allocates every page in one call that
    /// holds the inode lock, so no worker could write meanwhile and the 2-thread unseal lost its overlap
    /// (bench/RESULTS.md, unseal); without it each page is allocated by the write that fills it, overlapping with the
    /// other workers' decryption.
    /// </summary>
    private static void WriteViaTemp(string destination, long length, bool preallocate, Action<SafeFileHandle> write)
    {
        var temp = PositionalIo.TempNameFor(destination);
        try
        {
            using (var output = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, FileOptions.None, preallocate ? length : 0))
            {
                RandomAccess.SetLength(output, length);
                write(output);
            }

            File.Move(temp, destination, overwrite: false);
        }
        catch
        {
            PositionalIo.TryDelete(temp);
            throw;
        }
    }

    /// <summary>One buffer per worker, encrypted and decrypted in place: half the memory and cache footprint of two.</summary>
    private sealed class Worker(ChunkCipher cipher, int chunkSize) : IDisposable
    {
        public ChunkCipher Cipher { get; } = cipher;

        public byte[] Buffer { get; } = GC.AllocateUninitializedArray<byte>(chunkSize + SealedHeader.TagLength);

        public void Dispose()
        {
            Cipher.Dispose();
            CryptographicOperations.ZeroMemory(Buffer);
        }
    }
}
