using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Veil.Broker.KeyWrapping;

/// <summary>
/// The stored form of a resource value. Format 2 (envelope): <c>02 | len(keyId) u8 | keyId | len(wrapped) u16 BE |
/// wrapped data key | nonce(12) | tag(16) | ciphertext</c>, the value sealed with AES-256-GCM under a data key of its
/// own with the resource name as associated data, the data key wrapped by the master key <c>keyId</c> names.
/// Format 1 (before envelopes): <c>01 | nonce | tag | ciphertext</c> under the file master key itself.
/// A rotation rewrites only the key id and the wrapped key: the sealed value's bytes stay as they were.
/// </summary>
internal readonly record struct Envelope(string KeyId, ReadOnlyMemory<byte> WrappedKey, ReadOnlyMemory<byte> Body)
{
    public const byte Format1 = 1;
    public const byte Format2 = 2;
    public const int DataKeyBytes = 32;
    public const int NonceBytes = 12;
    public const int TagBytes = 16;

    /// <summary>The format-2 parts of <paramref name="stored"/>, or null for format 1; anything else is refused.</summary>
    public static Envelope? Read(ReadOnlyMemory<byte> stored, string name)
    {
        var s = stored.Span;
        if (s.Length > 0 && s[0] == Format1)
        {
            return null;
        }

        if (s.Length < 2 || s[0] != Format2)
        {
            throw new CryptographicException($"stored resource '{name}' is not in a sealed format");
        }

        var idLength = s[1];
        var at = 2 + idLength;
        if (idLength == 0 || s.Length < at + 2)
        {
            throw new CryptographicException($"stored resource '{name}' has a truncated envelope");
        }

        var keyId = Encoding.UTF8.GetString(s.Slice(2, idLength));
        var wrappedLength = BinaryPrimitives.ReadUInt16BigEndian(s.Slice(at, 2));
        at += 2;
        if (s.Length < at + wrappedLength + NonceBytes + TagBytes)
        {
            throw new CryptographicException($"stored resource '{name}' has a truncated envelope");
        }

        return new Envelope(keyId, stored.Slice(at, wrappedLength), stored[(at + wrappedLength)..]);
    }

    public byte[] Write()
    {
        var id = Encoding.UTF8.GetBytes(KeyId);
        if (id.Length is 0 or > 255 || WrappedKey.Length > ushort.MaxValue)
        {
            throw new InvalidOperationException("key id must be 1-255 bytes and the wrapped key at most 65535");
        }

        var output = new byte[2 + id.Length + 2 + WrappedKey.Length + Body.Length];
        output[0] = Format2;
        output[1] = (byte)id.Length;
        id.CopyTo(output.AsSpan(2));
        var at = 2 + id.Length;
        BinaryPrimitives.WriteUInt16BigEndian(output.AsSpan(at, 2), (ushort)WrappedKey.Length);
        WrappedKey.Span.CopyTo(output.AsSpan(at + 2));
        Body.Span.CopyTo(output.AsSpan(at + 2 + WrappedKey.Length));
        return output;
    }

    /// <summary>nonce | tag | ciphertext of <paramref name="plaintext"/> under <paramref name="dataKey"/>.</summary>
    public static byte[] SealBody(ReadOnlySpan<byte> dataKey, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> name)
    {
        var body = new byte[NonceBytes + TagBytes + plaintext.Length];
        RandomNumberGenerator.Fill(body.AsSpan(0, NonceBytes));
        using var gcm = new AesGcm(dataKey, TagBytes);
        gcm.Encrypt(body.AsSpan(0, NonceBytes), plaintext, body.AsSpan(NonceBytes + TagBytes), body.AsSpan(NonceBytes, TagBytes), name);
        return body;
    }

    public static byte[] OpenBody(ReadOnlySpan<byte> dataKey, ReadOnlySpan<byte> body, ReadOnlySpan<byte> name)
    {
        var plaintext = new byte[body.Length - NonceBytes - TagBytes];
        using var gcm = new AesGcm(dataKey, TagBytes);
        gcm.Decrypt(body[..NonceBytes], body[(NonceBytes + TagBytes)..], body.Slice(NonceBytes, TagBytes), plaintext, name);
        return plaintext;
    }
}
