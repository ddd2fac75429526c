using System.Formats.Asn1;
using System.Runtime.InteropServices;

namespace Veil.Broker.Admin;

/// <summary>
/// An Ed25519 public key (RFC 8410 SubjectPublicKeyInfo, OID 1.3.101.112) that verifies EdDSA signatures.
/// Hand-written because .NET's crypto API has no Ed25519 and the feed offers no maintained library for it
/// (BouncyCastle.Cryptography and NSec are absent); the verification itself is OpenSSL's, through the
/// libcrypto that .NET on Linux already requires. Trustee's admin keys (and kbs-client's admin JWTs) are Ed25519.
/// </summary>
internal sealed partial class Ed25519PublicKey
{
    public const string Oid = "1.3.101.112";
    public const int KeyLength = 32;
    public const int SignatureLength = 64;
    private const int EvpPkeyEd25519 = 1087; // NID_ED25519

    private readonly byte[] _key;

    private Ed25519PublicKey(byte[] key) => _key = key;

    /// <summary>Reads the DER of a SubjectPublicKeyInfo; null when it is not an Ed25519 key.</summary>
    public static Ed25519PublicKey? FromSubjectPublicKeyInfo(ReadOnlyMemory<byte> der)
    {
        try
        {
            var spki = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
            var algorithm = spki.ReadSequence();
            if (algorithm.ReadObjectIdentifier() != Oid || algorithm.HasData)
            {
                return null;
            }

            var key = spki.ReadBitString(out var unused);
            return unused == 0 && key.Length == KeyLength && !spki.HasData ? new Ed25519PublicKey(key) : null;
        }
        catch (AsnContentException)
        {
            return null;
        }
    }

    /// <summary>True only for a valid signature; any OpenSSL error counts as invalid (fails closed).</summary>
    public bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != SignatureLength)
        {
            return false;
        }

        var pkey = NewRawPublicKey(EvpPkeyEd25519, IntPtr.Zero, _key, (nuint)_key.Length);
        if (pkey == IntPtr.Zero)
        {
            return false;
        }

        var ctx = MdCtxNew();
        try
        {
            return ctx != IntPtr.Zero
                && DigestVerifyInit(ctx, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, pkey) == 1
                && DigestVerify(ctx, signature, (nuint)signature.Length, data, (nuint)data.Length) == 1;
        }
        finally
        {
            MdCtxFree(ctx);
            PkeyFree(pkey);
        }
    }

    private const string LibCrypto = "libcrypto.so.3";

    [LibraryImport(LibCrypto, EntryPoint = "EVP_PKEY_new_raw_public_key")]
    private static partial IntPtr NewRawPublicKey(int type, IntPtr engine, ReadOnlySpan<byte> key, nuint keyLength);

    [LibraryImport(LibCrypto, EntryPoint = "EVP_MD_CTX_new")]
    private static partial IntPtr MdCtxNew();

    [LibraryImport(LibCrypto, EntryPoint = "EVP_DigestVerifyInit")]
    private static partial int DigestVerifyInit(IntPtr ctx, IntPtr pctx, IntPtr type, IntPtr engine, IntPtr pkey);

    [LibraryImport(LibCrypto, EntryPoint = "EVP_DigestVerify")]
    private static partial int DigestVerify(IntPtr ctx, ReadOnlySpan<byte> signature, nuint signatureLength, ReadOnlySpan<byte> data, nuint dataLength);

    [LibraryImport(LibCrypto, EntryPoint = "EVP_MD_CTX_free")]
    private static partial void MdCtxFree(IntPtr ctx);

    [LibraryImport(LibCrypto, EntryPoint = "EVP_PKEY_free")]
    private static partial void PkeyFree(IntPtr pkey);
}
