using System.Buffers.Binary;

namespace Veil.Attestation.AzureVtpm;

/// <summary>
/// Reads TPM 2.0 marshalled structures (TPM 2.0 Part 2: big-endian integers, TPM2B = UINT16 size ‖ bytes).
/// Every read checks the remaining length first and names the field it was reading when the input runs out.
/// </summary>
internal ref struct TpmReader
{
    private readonly ReadOnlySpan<byte> bytes;
    private readonly string prefix;

    public TpmReader(ReadOnlySpan<byte> bytes, string prefix)
    {
        this.bytes = bytes;
        this.prefix = prefix;
    }

    public int Position { get; private set; }

    public readonly int Remaining => bytes.Length - Position;

    public byte U8(string field) => Take(1, field)[0];

    public ushort U16(string field) => BinaryPrimitives.ReadUInt16BigEndian(Take(2, field));

    public uint U32(string field) => BinaryPrimitives.ReadUInt32BigEndian(Take(4, field));

    public ulong U64(string field) => BinaryPrimitives.ReadUInt64BigEndian(Take(8, field));

    /// <summary>A TPM2B: the UINT16 size, then that many bytes; <paramref name="max"/> is the structure's own limit.</summary>
    public (int Offset, int Length) Sized(string field, int max)
    {
        var size = U16(field + ".size");
        if (size > max)
        {
            throw new EvidenceFormatException($"{prefix}.{field}.size", $"{size} bytes, at most {max} allowed");
        }

        var offset = Position;
        Take(size, field);
        return (offset, size);
    }

    public ReadOnlySpan<byte> Take(int length, string field)
    {
        if (length > Remaining)
        {
            throw new EvidenceFormatException($"{prefix}.{field}", $"truncated: {Remaining} bytes left, {length} needed");
        }

        var s = bytes.Slice(Position, length);
        Position += length;
        return s;
    }

    /// <summary>Marshalled structures have no padding: bytes after the last field are refused, not ignored.</summary>
    public readonly void End()
    {
        if (Remaining != 0)
        {
            throw new EvidenceFormatException(prefix, $"oversized: {Remaining} bytes after the end of the structure");
        }
    }
}

/// <summary>TPM 2.0 Part 2 constants Veil reads (TPM_GENERATED, TPM_ST, TPM_ALG_ID).</summary>
internal static class TpmConstants
{
    /// <summary>TPM_GENERATED_VALUE: "\xffTCG", the TPM's mark that it made the structure itself.</summary>
    public const uint GeneratedValue = 0xff544347;

    public const ushort StAttestQuote = 0x8018;

    public const ushort AlgSha1 = 0x0004;
    public const ushort AlgSha256 = 0x000B;
    public const ushort AlgSha384 = 0x000C;
    public const ushort AlgSha512 = 0x000D;
    public const ushort AlgNull = 0x0010;
    public const ushort AlgRsassa = 0x0014;
    public const ushort AlgRsapss = 0x0016;
    public const ushort AlgEcdsa = 0x0018;

    /// <summary>sizeof(TPMU_HA) with SHA-512: the largest digest, and so the largest TPM2B_DATA / TPM2B_DIGEST.</summary>
    public const int MaxDigest = 64;

    /// <summary>sizeof(TPMU_NAME): an algorithm id and the largest digest.</summary>
    public const int MaxName = 2 + MaxDigest;

    /// <summary>PCR_SELECT_MAX for 24 PCRs is 3; TPMs with more PCRs may go up to 32 bytes (256 PCRs).</summary>
    public const int MaxPcrSelect = 32;

    public static string HashName(ushort alg) => alg switch
    {
        AlgSha1 => "sha1",
        AlgSha256 => "sha256",
        AlgSha384 => "sha384",
        AlgSha512 => "sha512",
        _ => $"0x{alg:x4}",
    };

    public static System.Security.Cryptography.HashAlgorithmName? Hash(ushort alg) => alg switch
    {
        AlgSha1 => System.Security.Cryptography.HashAlgorithmName.SHA1,
        AlgSha256 => System.Security.Cryptography.HashAlgorithmName.SHA256,
        AlgSha384 => System.Security.Cryptography.HashAlgorithmName.SHA384,
        AlgSha512 => System.Security.Cryptography.HashAlgorithmName.SHA512,
        _ => null,
    };
}
