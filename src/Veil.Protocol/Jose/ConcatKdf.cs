using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Veil.Protocol.Jose;

/// <summary>
/// The Concat KDF of NIST SP 800-56A §5.8.1 as profiled by RFC 7518 §4.6.2 for ECDH-ES (SHA-256).
/// Hand-written: .NET's ECDiffieHellman.DeriveKeyFromHash prepends/appends raw bytes but cannot produce the
/// length-prefixed OtherInfo with a round counter in front of Z, which JOSE requires.
/// </summary>
public static class ConcatKdf
{
    public static byte[] DeriveKey(ReadOnlySpan<byte> z, string algorithmId, ReadOnlySpan<byte> partyUInfo, ReadOnlySpan<byte> partyVInfo, int keyBits)
    {
        var alg = Encoding.ASCII.GetBytes(algorithmId);
        var otherInfo = new byte[4 + alg.Length + 4 + partyUInfo.Length + 4 + partyVInfo.Length + 4];
        var o = 0;
        o = WriteLengthPrefixed(otherInfo, o, alg);
        o = WriteLengthPrefixed(otherInfo, o, partyUInfo);
        o = WriteLengthPrefixed(otherInfo, o, partyVInfo);
        BinaryPrimitives.WriteInt32BigEndian(otherInfo.AsSpan(o), keyBits);

        var keyBytes = keyBits / 8;
        var result = new byte[keyBytes];
        var input = new byte[4 + z.Length + otherInfo.Length];
        z.CopyTo(input.AsSpan(4));
        otherInfo.CopyTo(input, 4 + z.Length);
        var produced = 0;
        for (var round = 1; produced < keyBytes; round++)
        {
            BinaryPrimitives.WriteInt32BigEndian(input, round);
            var hash = SHA256.HashData(input);
            var take = Math.Min(hash.Length, keyBytes - produced);
            hash.AsSpan(0, take).CopyTo(result.AsSpan(produced));
            produced += take;
        }

        CryptographicOperations.ZeroMemory(input);
        return result;
    }

    private static int WriteLengthPrefixed(byte[] buffer, int offset, ReadOnlySpan<byte> value)
    {
        BinaryPrimitives.WriteInt32BigEndian(buffer.AsSpan(offset), value.Length);
        value.CopyTo(buffer.AsSpan(offset + 4));
        return offset + 4 + value.Length;
    }
}
