using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Veil.Sealing;

/// <summary>
/// Seals and opens single chunks. Nonce = file nonce with the big-endian chunk index XORed into its last 8 bytes;
/// associated data = SHA-256(header) ‖ index (u64 BE) ‖ final flag. So a chunk only opens at its own position,
/// in its own file, under its own header, and only the last chunk opens as final (truncation and extension fail).
/// One instance per thread: AesGcm is not safe for concurrent use.
/// </summary>
internal sealed class ChunkCipher : IDisposable
{
    private const int AadLength = 32 + 8 + 1;

    private readonly AesGcm gcm;
    private readonly SealedHeader header;
    private readonly byte[] headerDigest;
    private readonly string name;

    public ChunkCipher(ReadOnlySpan<byte> dataKey, SealedHeader header, byte[] headerDigest, string name)
    {
        gcm = new AesGcm(dataKey, SealedHeader.TagLength);
        this.header = header;
        this.headerDigest = headerDigest;
        this.name = name;
    }

    /// <summary>Encrypts one chunk: <paramref name="sealedChunk"/> receives ciphertext ‖ tag.</summary>
    public void Seal(long index, ReadOnlySpan<byte> plaintext, Span<byte> sealedChunk)
    {
        Span<byte> nonce = stackalloc byte[SealedHeader.FileNonceLength];
        Span<byte> aad = stackalloc byte[AadLength];
        Derive(index, nonce, aad);
        gcm.Encrypt(nonce, plaintext, sealedChunk[..plaintext.Length], sealedChunk.Slice(plaintext.Length, SealedHeader.TagLength), aad);
    }

    /// <summary>Authenticates and decrypts one chunk (ciphertext ‖ tag) into <paramref name="plaintext"/>.</summary>
    public void Open(long index, ReadOnlySpan<byte> sealedChunk, Span<byte> plaintext)
    {
        Span<byte> nonce = stackalloc byte[SealedHeader.FileNonceLength];
        Span<byte> aad = stackalloc byte[AadLength];
        Derive(index, nonce, aad);
        var n = sealedChunk.Length - SealedHeader.TagLength;
        try
        {
            gcm.Decrypt(nonce, sealedChunk[..n], sealedChunk[n..], plaintext[..n], aad);
        }
        catch (AuthenticationTagMismatchException e)
        {
            CryptographicOperations.ZeroMemory(plaintext[..n]);
            throw new SealingException(
                SealingError.ChunkAuthenticationFailed,
                $"{name}: chunk {index} of {header.ChunkCount}: failed authentication (modified, reordered, or from another file)",
                e);
        }
    }

    private void Derive(long index, Span<byte> nonce, Span<byte> aad)
    {
        header.FileNonce.CopyTo(nonce);
        var tail = BinaryPrimitives.ReadUInt64BigEndian(nonce[4..]) ^ (ulong)index;
        BinaryPrimitives.WriteUInt64BigEndian(nonce[4..], tail);
        headerDigest.CopyTo(aad);
        BinaryPrimitives.WriteUInt64BigEndian(aad[32..], (ulong)index);
        aad[40] = index == header.ChunkCount - 1 ? (byte)1 : (byte)0;
    }

    public void Dispose() => gcm.Dispose();
}
