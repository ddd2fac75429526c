using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Veil.Sealing;

/// <summary>
/// Random access to a sealed file by chunk: opens the file, checks its length against the header, unwraps the
/// data key, and authenticates and decrypts any chunk on demand.
/// </summary>
public sealed class SealedFileReader : IDisposable
{
    private readonly SafeFileHandle handle;
    private readonly byte[] dataKey;
    private readonly byte[] digest;
    private readonly ChunkCipher cipher;
    private readonly byte[] buffer;
    private readonly Lock gate = new();

    private SealedFileReader(SafeFileHandle handle, SealedHeader header, byte[] dataKey, string name)
    {
        this.handle = handle;
        Header = header;
        this.dataKey = dataKey;
        Name = name;
        digest = header.Digest();
        cipher = new ChunkCipher(dataKey, header, digest, name);
        buffer = new byte[header.ChunkSize + SealedHeader.TagLength];
    }

    public SealedHeader Header { get; }

    internal string Name { get; }

    public static SealedFileReader Open(string path, KeyEncryptionKey kek)
    {
        var name = Path.GetFileName(path);
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var dataKey = new byte[SealedHeader.DataKeyLength];
        try
        {
            var header = SealedHeader.Read(handle, name);
            var actual = RandomAccess.GetLength(handle);
            if (actual < header.SealedLength)
            {
                throw new SealingException(SealingError.Truncated, $"{name}: is {actual} bytes, header says {header.SealedLength} (truncated)");
            }

            if (actual > header.SealedLength)
            {
                throw new SealingException(SealingError.TrailingData, $"{name}: is {actual} bytes, header says {header.SealedLength} ({actual - header.SealedLength} bytes appended)");
            }

            DataKeyWrap.Unwrap(kek, header, dataKey, name);
            return new SealedFileReader(handle, header, dataKey, name);
        }
        catch
        {
            CryptographicOperations.ZeroMemory(dataKey);
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Authenticates and decrypts chunk <paramref name="index"/> into <paramref name="plaintext"/>; returns its length.</summary>
    public int ReadChunk(long index, Span<byte> plaintext)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Header.ChunkCount);
        var n = Header.ChunkPlaintextLength(index);
        ArgumentOutOfRangeException.ThrowIfLessThan(plaintext.Length, n);
        lock (gate)
        {
            PositionalIo.ReadExactly(handle, buffer.AsSpan(0, n + SealedHeader.TagLength), Header.ChunkOffset(index), Name);
            cipher.Open(index, buffer.AsSpan(0, n + SealedHeader.TagLength), plaintext);
        }

        return n;
    }

    internal ChunkCipher NewCipher() => new(dataKey, Header, digest, Name);

    /// <summary>For parallel workers: each brings its own cipher and buffer; the chunk is decrypted in place.</summary>
    internal int OpenChunk(long index, ChunkCipher workerCipher, byte[] buffer)
    {
        var n = Header.ChunkPlaintextLength(index);
        var chunk = buffer.AsSpan(0, n + SealedHeader.TagLength);
        PositionalIo.ReadExactly(handle, chunk, Header.ChunkOffset(index), Name);
        workerCipher.Open(index, chunk, chunk);
        return n;
    }

    public void Dispose()
    {
        cipher.Dispose();
        CryptographicOperations.ZeroMemory(dataKey);
        handle.Dispose();
    }
}
