using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Veil.Attestation;

/// <summary>
/// Checks that one certificate's signature was made by another certificate's key.
/// Written over System.Formats.Asn1 instead of X509Chain because the vendor chains need exact control:
/// AMD signs with RSASSA-PSS (which X509Chain handles only through the platform's policy engine), the
/// anchors are pinned rather than taken from a system store, and we need a named reason for each failure
/// rather than a chain status flag set.
/// </summary>
public static class CertificateSignature
{
    private const string OidRsaPss = "1.2.840.113549.1.1.10";
    private const string OidSha256Rsa = "1.2.840.113549.1.1.11";
    private const string OidSha384Rsa = "1.2.840.113549.1.1.12";
    private const string OidSha512Rsa = "1.2.840.113549.1.1.13";
    private const string OidEcdsaSha256 = "1.2.840.10045.4.3.2";
    private const string OidEcdsaSha384 = "1.2.840.10045.4.3.3";
    private const string OidEcdsaSha512 = "1.2.840.10045.4.3.4";
    private const string OidSha256 = "2.16.840.1.101.3.4.2.1";
    private const string OidSha384 = "2.16.840.1.101.3.4.2.2";
    private const string OidSha512 = "2.16.840.1.101.3.4.2.3";
    private const string OidSha1 = "1.3.14.3.2.26";
    private const string OidMgf1 = "1.2.840.113549.1.1.8";

    /// <summary>Returns null when <paramref name="subject"/> is signed by <paramref name="issuer"/>'s key, else the reason.</summary>
    public static string? Verify(X509Certificate2 subject, X509Certificate2 issuer)
    {
        if (!subject.IssuerName.RawData.AsSpan().SequenceEqual(issuer.SubjectName.RawData))
        {
            return $"issuer name '{subject.Issuer}' is not the subject of the signing certificate '{issuer.Subject}'";
        }

        ReadOnlyMemory<byte> tbs;
        string algorithm;
        ReadOnlyMemory<byte>? parameters;
        byte[] signature;
        try
        {
            (tbs, algorithm, parameters, signature) = Split(subject.RawDataMemory);
        }
        catch (AsnContentException e)
        {
            return "certificate is not valid DER: " + e.Message;
        }

        try
        {
            return algorithm switch
            {
                OidRsaPss => VerifyRsa(issuer, tbs.Span, signature, PssHash(parameters), RSASignaturePadding.Pss),
                OidSha256Rsa => VerifyRsa(issuer, tbs.Span, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
                OidSha384Rsa => VerifyRsa(issuer, tbs.Span, signature, HashAlgorithmName.SHA384, RSASignaturePadding.Pkcs1),
                OidSha512Rsa => VerifyRsa(issuer, tbs.Span, signature, HashAlgorithmName.SHA512, RSASignaturePadding.Pkcs1),
                OidEcdsaSha256 => VerifyEcdsa(issuer, tbs.Span, signature, HashAlgorithmName.SHA256),
                OidEcdsaSha384 => VerifyEcdsa(issuer, tbs.Span, signature, HashAlgorithmName.SHA384),
                OidEcdsaSha512 => VerifyEcdsa(issuer, tbs.Span, signature, HashAlgorithmName.SHA512),
                _ => $"unsupported signature algorithm {algorithm}",
            };
        }
        catch (Exception e) when (e is AsnContentException or CryptographicException or NotSupportedException)
        {
            return "signature could not be checked: " + e.Message;
        }
    }

    /// <summary>Null when <paramref name="certificate"/> is valid at <paramref name="now"/>, else the reason.</summary>
    public static string? CheckValidity(X509Certificate2 certificate, DateTimeOffset now) => ValidityPeriod.Of(certificate).Check(now);

    internal static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ");

    private static (ReadOnlyMemory<byte> Tbs, string Algorithm, ReadOnlyMemory<byte>? Parameters, byte[] Signature) Split(ReadOnlyMemory<byte> der)
    {
        var outer = new AsnReader(der, AsnEncodingRules.DER);
        var cert = outer.ReadSequence();
        outer.ThrowIfNotEmpty();
        var tbs = cert.ReadEncodedValue();
        var algId = cert.ReadSequence();
        var algorithm = algId.ReadObjectIdentifier();
        ReadOnlyMemory<byte>? parameters = algId.HasData ? algId.ReadEncodedValue() : null;
        var signature = cert.ReadBitString(out var unused);
        cert.ThrowIfNotEmpty();
        if (unused != 0)
        {
            throw new AsnContentException("signature bit string has unused bits");
        }

        return (tbs, algorithm, parameters, signature);
    }

    /// <summary>
    /// RSASSA-PSS parameters (RFC 4055). .NET's PSS uses MGF1 with the same hash and a salt as long as the
    /// hash, so anything else is refused rather than verified under different assumptions.
    /// </summary>
    private static HashAlgorithmName PssHash(ReadOnlyMemory<byte>? parameters)
    {
        if (parameters is null)
        {
            throw new NotSupportedException("RSASSA-PSS without parameters (SHA-1 default) is not accepted");
        }

        var seq = new AsnReader(parameters.Value, AsnEncodingRules.DER).ReadSequence();
        // RFC 4055 defaults when a field is absent: SHA-1, MGF1-SHA-1, salt 20.
        var hashOid = OidSha1;
        var mgfHashOid = OidSha1;
        var salt = 20;
        var hashTag = new Asn1Tag(TagClass.ContextSpecific, 0, true);
        var mgfTag = new Asn1Tag(TagClass.ContextSpecific, 1, true);
        var saltTag = new Asn1Tag(TagClass.ContextSpecific, 2, true);
        if (seq.HasData && seq.PeekTag() == hashTag)
        {
            hashOid = seq.ReadSequence(hashTag).ReadSequence().ReadObjectIdentifier();
        }

        if (seq.HasData && seq.PeekTag() == mgfTag)
        {
            var mgf = seq.ReadSequence(mgfTag).ReadSequence();
            if (mgf.ReadObjectIdentifier() != OidMgf1)
            {
                throw new NotSupportedException("RSASSA-PSS mask generation other than MGF1");
            }

            mgfHashOid = mgf.ReadSequence().ReadObjectIdentifier();
        }

        if (seq.HasData && seq.PeekTag() == saltTag)
        {
            salt = (int)seq.ReadSequence(saltTag).ReadInteger();
        }

        var (name, length) = hashOid switch
        {
            OidSha256 => (HashAlgorithmName.SHA256, 32),
            OidSha384 => (HashAlgorithmName.SHA384, 48),
            OidSha512 => (HashAlgorithmName.SHA512, 64),
            _ => throw new NotSupportedException($"RSASSA-PSS hash {hashOid}"),
        };
        if (mgfHashOid != hashOid || salt != length)
        {
            throw new NotSupportedException($"RSASSA-PSS with MGF1 hash {mgfHashOid} and salt {salt}");
        }

        return name;
    }

    private static string? VerifyRsa(X509Certificate2 issuer, ReadOnlySpan<byte> tbs, byte[] signature, HashAlgorithmName hash, RSASignaturePadding padding)
    {
        using var rsa = issuer.GetRSAPublicKey();
        if (rsa is null)
        {
            return "the signing certificate has no RSA key";
        }

        return rsa.VerifyData(tbs, signature, hash, padding) ? null : "signature does not verify";
    }

    private static string? VerifyEcdsa(X509Certificate2 issuer, ReadOnlySpan<byte> tbs, byte[] signature, HashAlgorithmName hash)
    {
        using var ec = issuer.GetECDsaPublicKey();
        if (ec is null)
        {
            return "the signing certificate has no EC key";
        }

        return ec.VerifyData(tbs, signature, hash, DSASignatureFormat.Rfc3279DerSequence) ? null : "signature does not verify";
    }
}
