using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Veil.Protocol.Jose;

/// <summary>
/// AES Key Wrap, RFC 3394 (JOSE "A256KW"). Hand-written because .NET only ships RFC 5649 (the padded
/// variant, <c>Aes.EncryptKeyWrapPadded</c>), whose output differs; the block cipher is .NET's AES-ECB.
/// </summary>
public static class AesKeyWrap
{
    private const ulong DefaultIv = 0xA6A6A6A6A6A6A6A6UL;

    public static byte[] Wrap(ReadOnlySpan<byte> kek, ReadOnlySpan<byte> keyData)
    {
        if (keyData.Length < 16 || keyData.Length % 8 != 0)
        {
            throw new ArgumentException("key data must be a multiple of 8 bytes, at least 16", nameof(keyData));
        }

        using var aes = Aes.Create();
        aes.Key = kek.ToArray();
        var n = keyData.Length / 8;
        var r = keyData.ToArray();
        var a = DefaultIv;
        Span<byte> block = stackalloc byte[16];
        Span<byte> output = stackalloc byte[16];
        for (var j = 0; j <= 5; j++)
        {
            for (var i = 1; i <= n; i++)
            {
                BinaryPrimitives.WriteUInt64BigEndian(block, a);
                r.AsSpan((i - 1) * 8, 8).CopyTo(block[8..]);
                aes.EncryptEcb(block, output, PaddingMode.None);
                a = BinaryPrimitives.ReadUInt64BigEndian(output) ^ (ulong)((n * j) + i);
                output[8..].CopyTo(r.AsSpan((i - 1) * 8, 8));
            }
        }

        var result = new byte[keyData.Length + 8];
        BinaryPrimitives.WriteUInt64BigEndian(result, a);
        r.CopyTo(result, 8);
        CryptographicOperations.ZeroMemory(r);
        return result;
    }

    /// <summary>Unwraps; a wrong key or tampered input fails the integrity check with <see cref="CryptographicException"/>.</summary>
    public static byte[] Unwrap(ReadOnlySpan<byte> kek, ReadOnlySpan<byte> wrapped)
    {
        if (wrapped.Length < 24 || wrapped.Length % 8 != 0)
        {
            throw new CryptographicException("wrapped key must be a multiple of 8 bytes, at least 24");
        }

        using var aes = Aes.Create();
        aes.Key = kek.ToArray();
        var n = (wrapped.Length / 8) - 1;
        var a = BinaryPrimitives.ReadUInt64BigEndian(wrapped);
        var r = wrapped[8..].ToArray();
        Span<byte> block = stackalloc byte[16];
        Span<byte> output = stackalloc byte[16];
        for (var j = 5; j >= 0; j--)
        {
            for (var i = n; i >= 1; i--)
            {
                BinaryPrimitives.WriteUInt64BigEndian(block, a ^ (ulong)((n * j) + i));
                r.AsSpan((i - 1) * 8, 8).CopyTo(block[8..]);
                aes.DecryptEcb(block, output, PaddingMode.None);
                a = BinaryPrimitives.ReadUInt64BigEndian(output);
                output[8..].CopyTo(r.AsSpan((i - 1) * 8, 8));
            }
        }

        if (a != DefaultIv)
        {
            CryptographicOperations.ZeroMemory(r);
            throw new CryptographicException("AES key unwrap: integrity check failed (wrong key or tampered data)");
        }

        return r;
    }
}
