using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Veil.Attestation.Nvidia.Ocsp;

/// <summary>The status an OCSP responder gave one certificate.</summary>
public enum OcspCertStatus
{
    Good,
    Revoked,
    OnHold,
    Unknown,
}

/// <summary>What a verified OCSP response says about one certificate.</summary>
public sealed record OcspResult(OcspCertStatus Status, DateTimeOffset ThisUpdate, DateTimeOffset? NextUpdate, int? RevocationReason);

/// <summary>
/// A DER OCSP response (RFC 6960 §4.2.1), read with System.Formats.Asn1: .NET has no public OCSP client API,
/// and an offline verifier must check responses it did not fetch itself. Accepts responses signed by the
/// certificate's issuer or by a responder certificate the issuer signed for OCSP signing (id-kp-OCSPSigning).
/// </summary>
public static class OcspResponse
{
    private const string BasicOid = "1.3.6.1.5.5.7.48.1.1";
    private const string OcspSigningOid = "1.3.6.1.5.5.7.3.9";
    private const int CertificateHold = 6;

    /// <summary>True when <paramref name="der"/> is an OCSP response with a SingleResponse for this certificate.</summary>
    public static bool Names(ReadOnlySpan<byte> der, X509Certificate2 certificate, X509Certificate2 issuer)
    {
        try
        {
            return Find(Read(der.ToArray()).Responses, certificate, issuer) is not null;
        }
        catch (Exception e) when (e is AsnContentException or EvidenceFormatException or CryptographicException)
        {
            return false;
        }
    }

    /// <summary>Checks the response's signature and freshness and returns the certificate's status.</summary>
    /// <exception cref="EvidenceFormatException">Malformed, unsuccessful, not for this certificate, badly signed or stale.</exception>
    public static OcspResult Check(ReadOnlySpan<byte> der, X509Certificate2 certificate, X509Certificate2 issuer, DateTimeOffset now)
    {
        const string field = "ocsp";
        Basic basic;
        try
        {
            basic = Read(der.ToArray());
        }
        catch (Exception e) when (e is AsnContentException or CryptographicException)
        {
            throw new EvidenceFormatException(field, "not a DER OCSP response: " + e.Message, e);
        }

        if (!SignedBy(basic, issuer))
        {
            throw new EvidenceFormatException(field + ".signature", $"not signed by '{NvidiaChain.Name(issuer)}' or a responder it authorised");
        }

        var single = Find(basic.Responses, certificate, issuer)
            ?? throw new EvidenceFormatException(field + ".cert_id", $"no status for serial {certificate.SerialNumber}");
        var skew = TimeSpan.FromMinutes(5);
        if (single.ThisUpdate > now + skew)
        {
            throw new EvidenceFormatException(field + ".this_update", $"{single.ThisUpdate:O} is after the verification time");
        }

        if (single.NextUpdate is { } next && next < now - skew)
        {
            throw new EvidenceFormatException(field + ".next_update", $"stale: next update was due {next:O}");
        }

        return single;
    }

    private sealed record Basic(byte[] Tbs, string Algorithm, byte[] Signature, IReadOnlyList<X509Certificate2> Certs, IReadOnlyList<(byte[] NameHash, byte[] KeyHash, BigInteger Serial, string HashOid, OcspResult Result)> Responses);

    private static Basic Read(byte[] der)
    {
        var outer = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
        var status = Enumerated(outer);
        if (status != 0)
        {
            throw new EvidenceFormatException("ocsp.response_status", $"responder answered with status {status}, not successful (0)");
        }

        var bytes = outer.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0, true)).ReadSequence();
        if (bytes.ReadObjectIdentifier() != BasicOid)
        {
            throw new EvidenceFormatException("ocsp.response_type", "not id-pkix-ocsp-basic");
        }

        var basic = new AsnReader(bytes.ReadOctetString(), AsnEncodingRules.DER).ReadSequence();
        var tbsRaw = basic.ReadEncodedValue().ToArray();
        var algorithm = basic.ReadSequence().ReadObjectIdentifier();
        var signature = basic.ReadBitString(out _);
        var certs = new List<X509Certificate2>();
        if (basic.HasData)
        {
            var list = basic.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0, true)).ReadSequence();
            while (list.HasData)
            {
                certs.Add(X509CertificateLoader.LoadCertificate(list.ReadEncodedValue().Span));
            }
        }

        var tbs = new AsnReader(tbsRaw, AsnEncodingRules.DER).ReadSequence();
        if (tbs.PeekTag() == new Asn1Tag(TagClass.ContextSpecific, 0, true))
        {
            tbs.ReadEncodedValue();
        }

        tbs.ReadEncodedValue(); // responderID: the signature check decides who signed
        tbs.ReadGeneralizedTime();
        var responses = new List<(byte[], byte[], BigInteger, string, OcspResult)>();
        var seq = tbs.ReadSequence();
        while (seq.HasData)
        {
            var single = seq.ReadSequence();
            var certId = single.ReadSequence();
            var hashOid = certId.ReadSequence().ReadObjectIdentifier();
            var nameHash = certId.ReadOctetString();
            var keyHash = certId.ReadOctetString();
            var serial = certId.ReadInteger();
            var tag = single.PeekTag();
            OcspCertStatus st;
            int? reason = null;
            if (tag.TagValue == 1)
            {
                var revoked = single.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 1, true));
                revoked.ReadGeneralizedTime();
                if (revoked.HasData)
                {
                    reason = Enumerated(revoked.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0, true)));
                }

                st = reason == CertificateHold ? OcspCertStatus.OnHold : OcspCertStatus.Revoked;
            }
            else
            {
                single.ReadEncodedValue();
                st = tag.TagValue == 0 ? OcspCertStatus.Good : OcspCertStatus.Unknown;
            }

            var thisUpdate = single.ReadGeneralizedTime();
            DateTimeOffset? nextUpdate = null;
            if (single.HasData && single.PeekTag() == new Asn1Tag(TagClass.ContextSpecific, 0, true))
            {
                nextUpdate = single.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0, true)).ReadGeneralizedTime();
            }

            responses.Add((nameHash, keyHash, serial, hashOid, new OcspResult(st, thisUpdate, nextUpdate, reason)));
        }

        return new Basic(tbsRaw, algorithm, signature, certs, responses);
    }

    private static OcspResult? Find(IReadOnlyList<(byte[] NameHash, byte[] KeyHash, BigInteger Serial, string HashOid, OcspResult Result)> responses, X509Certificate2 certificate, X509Certificate2 issuer)
    {
        var serial = new BigInteger(certificate.SerialNumberBytes.Span, isUnsigned: true, isBigEndian: true);
        foreach (var r in responses)
        {
            if (r.Serial != serial || HashFor(r.HashOid) is not { } hash)
            {
                continue;
            }

            var nameHash = CryptographicOperations.HashData(hash, issuer.SubjectName.RawData);
            var keyHash = CryptographicOperations.HashData(hash, issuer.PublicKey.EncodedKeyValue.RawData!);
            if (nameHash.AsSpan().SequenceEqual(r.NameHash) && keyHash.AsSpan().SequenceEqual(r.KeyHash))
            {
                return r.Result;
            }
        }

        return null;
    }

    private static bool SignedBy(Basic basic, X509Certificate2 issuer)
    {
        if (Verifies(basic, issuer))
        {
            return true;
        }

        foreach (var responder in basic.Certs)
        {
            var delegated = responder.Extensions["2.5.29.37"] is X509EnhancedKeyUsageExtension eku
                && eku.EnhancedKeyUsages.Cast<Oid>().Any(o => o.Value == OcspSigningOid);
            if (delegated && CertificateSignature.Verify(responder, issuer) is null && Verifies(basic, responder))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Verifies(Basic basic, X509Certificate2 signer)
    {
        var hash = basic.Algorithm switch
        {
            "1.2.840.10045.4.3.2" or "1.2.840.113549.1.1.11" => HashAlgorithmName.SHA256,
            "1.2.840.10045.4.3.3" or "1.2.840.113549.1.1.12" => HashAlgorithmName.SHA384,
            "1.2.840.10045.4.3.4" or "1.2.840.113549.1.1.13" => HashAlgorithmName.SHA512,
            _ => (HashAlgorithmName?)null,
        };
        if (hash is null)
        {
            return false;
        }

        using var ec = signer.GetECDsaPublicKey();
        if (ec is not null)
        {
            return ec.VerifyData(basic.Tbs, basic.Signature, hash.Value, DSASignatureFormat.Rfc3279DerSequence);
        }

        using var rsa = signer.GetRSAPublicKey();
        return rsa is not null && rsa.VerifyData(basic.Tbs, basic.Signature, hash.Value, RSASignaturePadding.Pkcs1);
    }

    private static HashAlgorithmName? HashFor(string oid) => oid switch
    {
        "1.3.14.3.2.26" => HashAlgorithmName.SHA1,
        "2.16.840.1.101.3.4.2.1" => HashAlgorithmName.SHA256,
        "2.16.840.1.101.3.4.2.2" => HashAlgorithmName.SHA384,
        "2.16.840.1.101.3.4.2.3" => HashAlgorithmName.SHA512,
        _ => null,
    };

    private static int Enumerated(AsnReader reader)
    {
        var bytes = reader.ReadEnumeratedBytes().Span;
        return bytes.Length is > 0 and <= 2 ? (int)new BigInteger(bytes, isUnsigned: false, isBigEndian: true) : throw new AsnContentException("enumerated value out of range");
    }
}
