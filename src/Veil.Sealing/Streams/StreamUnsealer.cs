using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Veil.Sealing;

/// <summary>
/// Unsealing from a forward-only stream (a pipe, an HTTP or object-store body): header, then each chunk in order,
/// one chunk buffer whatever the size. Plaintext is written only after its chunk authenticated, but a later chunk
/// can still fail: on an exception the caller must discard what was written (the file API does this itself).
/// </summary>
public static class StreamUnsealer
{
    public static SealedHeader Unseal(Stream input, Stream output, KeyEncryptionKey kek, string name = "stream")
    {
        var head = new byte[SealedHeader.MaxLength];
        ReadExactly(input, head.AsSpan(0, SealedHeader.FixedPrefixLength), name, SealingError.InvalidHeader);
        var idLength = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(36));
        if (idLength is > 0 and <= SealedHeader.MaxKeyIdLength)
        {
            ReadExactly(input, head.AsSpan(SealedHeader.FixedPrefixLength, idLength + SealedHeader.WrappedKeyLength), name, SealingError.InvalidHeader);
        }

        SealedHeader header;
        try
        {
            header = SealedHeader.Parse(head.AsSpan(0, Math.Min(head.Length, SealedHeader.FixedPrefixLength + idLength + SealedHeader.WrappedKeyLength)));
        }
        catch (SealingException e)
        {
            throw new SealingException(e.Error, $"{name}: {e.Message}", e);
        }

        var dataKey = new byte[SealedHeader.DataKeyLength];
        var buffer = new byte[header.ChunkSize + SealedHeader.TagLength];
        try
        {
            DataKeyWrap.Unwrap(kek, header, dataKey, name);
            using var cipher = new ChunkCipher(dataKey, header, header.Digest(), name);
            for (long i = 0; i < header.ChunkCount; i++)
            {
                var n = header.ChunkPlaintextLength(i);
                var chunk = buffer.AsSpan(0, n + SealedHeader.TagLength);
                ReadExactly(input, chunk, name, SealingError.Truncated);
                cipher.Open(i, chunk, chunk);
                output.Write(chunk[..n]);
            }

            if (input.ReadByte() >= 0)
            {
                throw new SealingException(SealingError.TrailingData, $"{name}: bytes after the final chunk (appended data)");
            }

            return header;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
            CryptographicOperations.ZeroMemory(buffer);
        }
    }

    private static void ReadExactly(Stream input, Span<byte> buffer, string name, SealingError error)
    {
        var done = 0;
        while (done < buffer.Length)
        {
            var n = input.Read(buffer[done..]);
            if (n == 0)
            {
                throw new SealingException(error, $"{name}: ended {buffer.Length - done} bytes early (truncated)");
            }

            done += n;
        }
    }
}
