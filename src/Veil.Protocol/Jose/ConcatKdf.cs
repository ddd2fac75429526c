using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Veil.Protocol.Jose;

/// <summary>
/// The Concat KDF of NIST SP 800-56A §5.8.1 as profiled by RFC 7518 §4.6.2 for ECDH-ES (SHA-256): round i hashes
/// counter i (32-bit big-endian) ‖ Z ‖ OtherInfo, where OtherInfo is AlgorithmID, PartyUInfo and PartyVInfo, each
/// with a 32-bit length in front, then the key length in bits.
/// </summary>
public static class ConcatKdf
{
    private const int HashBits = 256;

    /// <summary>
    /// Key agreement and KDF in one call for keys of up to 256 bits (A256KW and smaller: one round), by
    /// <see cref="ECDiffieHellman.DeriveKeyFromHash(ECDiffieHellmanPublicKey, HashAlgorithmName, byte[], byte[])"/>:
    /// SHA-256(prepend ‖ Z ‖ append) with the round counter 1 prepended and OtherInfo appended is exactly that round,
    /// and Z never leaves the platform's key agreement.
    /// </summary>
    public static byte[] DeriveKey(ECDiffieHellman own, ECDiffieHellmanPublicKey peer, string algorithmId, ReadOnlySpan<byte> partyUInfo, ReadOnlySpan<byte> partyVInfo, int keyBits)
    {
        ArgumentNullException.ThrowIfNull(own);
        if (keyBits is <= 0 or > HashBits || keyBits % 8 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(keyBits), keyBits, "one SHA-256 round gives whole bytes up to 256 bits");
        }

        var hash = own.DeriveKeyFromHash(peer, HashAlgorithmName.SHA256, [0, 0, 0, 1], OtherInfo(algorithmId, partyUInfo, partyVInfo, keyBits));
        if (keyBits == HashBits)
        {
            return hash;
        }

        var key = hash[..(keyBits / 8)];
        CryptographicOperations.ZeroMemory(hash);
        return key;
    }

    /// <summary>
    /// The same KDF from a shared secret <paramref name="z"/> already in hand, for any length. Kept beside the
    /// one-call form because a Z given as bytes (RFC 7518 Appendix C's vector) cannot go through DeriveKeyFromHash,
    /// which only takes a key pair, and because keys longer than 256 bits need further rounds it does not do.
    /// </summary>
    public static byte[] DeriveKey(ReadOnlySpan<byte> z, string algorithmId, ReadOnlySpan<byte> partyUInfo, ReadOnlySpan<byte> partyVInfo, int keyBits)
    {
        var otherInfo = OtherInfo(algorithmId, partyUInfo, partyVInfo, keyBits);
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

    /// <summary>OtherInfo of RFC 7518 §4.6.2: the length-prefixed AlgorithmID, PartyUInfo, PartyVInfo, then SuppPubInfo (the key length in bits).</summary>
    public static byte[] OtherInfo(string algorithmId, ReadOnlySpan<byte> partyUInfo, ReadOnlySpan<byte> partyVInfo, int keyBits)
    {
        var alg = Encoding.ASCII.GetBytes(algorithmId);
        var otherInfo = new byte[4 + alg.Length + 4 + partyUInfo.Length + 4 + partyVInfo.Length + 4];
        var o = 0;
        o = WriteLengthPrefixed(otherInfo, o, alg);
        o = WriteLengthPrefixed(otherInfo, o, partyUInfo);
        o = WriteLengthPrefixed(otherInfo, o, partyVInfo);
        BinaryPrimitives.WriteInt32BigEndian(otherInfo.AsSpan(o), keyBits);
        return otherInfo;
    }

    private static int WriteLengthPrefixed(byte[] buffer, int offset, ReadOnlySpan<byte> value)
    {
        BinaryPrimitives.WriteInt32BigEndian(buffer.AsSpan(offset), value.Length);
        value.CopyTo(buffer.AsSpan(offset + 4));
        return offset + 4 + value.Length;
    }
}
