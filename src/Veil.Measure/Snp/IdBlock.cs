using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Veil.Measure.Snp;

/// <summary>
/// The 96-byte SNP ID block (SNP firmware ABI, "ID_BLOCK structure") that the VMM passes to
/// SNP_LAUNCH_FINISH: the expected launch digest, family and image ids, version, guest SVN and policy.
/// </summary>
public sealed record IdBlock(byte[] LaunchDigest, byte[] FamilyId, byte[] ImageId, uint Version, uint GuestSvn, ulong Policy)
{
    public const int Size = 96;

    /// <summary>Policy 0x30000: SMT allowed, ABI major 0 / minor 0, bit 17 reserved-must-be-one (the upstream default).</summary>
    public const ulong DefaultPolicy = 0x30000;

    public byte[] ToBytes()
    {
        Check(LaunchDigest, 48, "id_block.launch_digest");
        Check(FamilyId, 16, "id_block.family_id");
        Check(ImageId, 16, "id_block.image_id");
        var b = new byte[Size];
        LaunchDigest.CopyTo(b, 0);
        FamilyId.CopyTo(b, 48);
        ImageId.CopyTo(b, 64);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(80), Version);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(84), GuestSvn);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(88), Policy);
        return b;
    }

    private static void Check(byte[] value, int length, string field)
    {
        if (value is null || value.Length != length)
        {
            throw new MeasureException(field, $"{value?.Length ?? 0} bytes given, {length} expected");
        }
    }
}

/// <summary>The ID block, its 4096-byte ID_AUTH_INFO, and the key digests an attestation report will carry.</summary>
public sealed record IdBlockResult(byte[] IdBlock, byte[] IdAuth, byte[] IdKeyDigest, byte[] AuthorKeyDigest);

/// <summary>
/// Signs an ID block with the ID key and the ID key with the author key, in the SNP wire format:
/// P-384 keys as 1028-byte structures (curve id 2, little-endian 72-byte X and Y), ECDSA-SHA384 signatures
/// as 512-byte structures (little-endian 72-byte R and S). Report fields ID_KEY_DIGEST and AUTHOR_KEY_DIGEST
/// are SHA-384 of those key structures.
/// </summary>
public static class IdBlockSigner
{
    public const int AuthSize = 4096;
    private const int KeySize = 1028;
    private const int SigSize = 512;
    private const uint AlgoEcdsaP384Sha384 = 1;
    private const uint CurveP384 = 2;

    public static IdBlockResult Sign(IdBlock block, ECDsa idKey, ECDsa authorKey)
    {
        ArgumentNullException.ThrowIfNull(block);
        var blockBytes = block.ToBytes();
        var idPub = MarshalPublicKey(idKey, "--id-key");
        var authorPub = MarshalPublicKey(authorKey, "--author-key");

        var auth = new byte[AuthSize];
        var a = auth.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(a, AlgoEcdsaP384Sha384); // ID_KEY_ALGO
        BinaryPrimitives.WriteUInt32LittleEndian(a[4..], AlgoEcdsaP384Sha384); // AUTH_KEY_ALGO
        SignatureStruct(idKey, blockBytes).CopyTo(a[0x40..]); // ID_BLOCK_SIG
        idPub.CopyTo(a[0x240..]); // ID_KEY
        SignatureStruct(authorKey, idPub).CopyTo(a[0x680..]); // ID_KEY_SIG
        authorPub.CopyTo(a[0x880..]); // AUTHOR_KEY
        return new IdBlockResult(blockBytes, auth, SHA384.HashData(idPub), SHA384.HashData(authorPub));
    }

    /// <summary>Loads an unencrypted P-384 private key from PEM (SEC1 or PKCS#8).</summary>
    public static ECDsa LoadKey(string path, string option)
    {
        if (!File.Exists(path))
        {
            throw new MeasureException(option, $"file not found: {path}");
        }

        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(File.ReadAllText(path));
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new MeasureException(option, "not a PEM EC private key");
        }

        if (key.KeySize != 384)
        {
            key.Dispose();
            throw new MeasureException(option, $"P-384 key required, got a {key.KeySize}-bit curve");
        }

        return key;
    }

    internal static byte[] MarshalPublicKey(ECDsa key, string field)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.KeySize != 384)
        {
            throw new MeasureException(field, $"P-384 key required, got a {key.KeySize}-bit curve");
        }

        var p = key.ExportParameters(false);
        var b = new byte[KeySize];
        BinaryPrimitives.WriteUInt32LittleEndian(b, CurveP384);
        LittleEndian72(p.Q.X!).CopyTo(b, 4);
        LittleEndian72(p.Q.Y!).CopyTo(b, 4 + 72);
        return b;
    }

    private static byte[] SignatureStruct(ECDsa key, byte[] data)
    {
        var rs = key.SignData(data, HashAlgorithmName.SHA384, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        var b = new byte[SigSize];
        LittleEndian72(rs.AsSpan(0, 48)).CopyTo(b, 0);
        LittleEndian72(rs.AsSpan(48, 48)).CopyTo(b, 72);
        return b;
    }

    private static byte[] LittleEndian72(ReadOnlySpan<byte> bigEndian) => Veil.Abi.Snp.AmdEcdsa.ToLittleEndian72(bigEndian);
}
