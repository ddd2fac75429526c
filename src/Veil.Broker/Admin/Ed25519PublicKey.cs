using System.Formats.Asn1;
using Org.BouncyCastle.Math.EC.Rfc8032;

namespace Veil.Broker.Admin;

/// <summary>
/// An Ed25519 public key (RFC 8410 SubjectPublicKeyInfo, OID 1.3.101.112) that verifies EdDSA signatures.
/// .NET's crypto API has no Ed25519, so the verification is BouncyCastle.Cryptography's (managed; it replaced
/// calls into OpenSSL's libcrypto). The SubjectPublicKeyInfo is read with System.Formats.Asn1, which needs no more.
/// Trustee's admin keys (and kbs-client's admin JWTs) are Ed25519.
/// </summary>
internal sealed class Ed25519PublicKey
{
    public const string Oid = "1.3.101.112";
    public const int KeyLength = 32;
    public const int SignatureLength = 64;

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

    /// <summary>True only for a valid signature (RFC 8032 §5.1.7, BouncyCastle's verifier); anything else is false.</summary>
    public bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature) =>
        signature.Length == SignatureLength && Ed25519.Verify(signature.ToArray(), 0, _key, 0, data.ToArray(), 0, data.Length);
}
