using System.Collections.Frozen;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.Tdx.IntelCollateral;

/// <summary>
/// An X.509 CRL (RFC 5280 §5) as Intel publishes them (root CA CRL, PCK Platform/Processor CA CRLs).
/// Hand-written over System.Formats.Asn1 because .NET has no CRL reader for checking: X509Chain consults
/// CRLs only through the platform's online revocation machinery, and here the CRLs are offline collateral
/// whose signature, issuer and freshness must be checked at a pinned time with a named reason for each.
/// </summary>
public sealed class IntelCrl
{
    private const string OidEcdsaSha256 = "1.2.840.10045.4.3.2";
    private const string OidEcdsaSha384 = "1.2.840.10045.4.3.3";

    private readonly ReadOnlyMemory<byte> tbs;
    private readonly byte[] signature;
    private readonly FrozenSet<string> revoked;

    private IntelCrl(ReadOnlyMemory<byte> tbs, string algorithm, byte[] signature, ReadOnlyMemory<byte> issuer, DateTimeOffset thisUpdate, DateTimeOffset? nextUpdate, FrozenSet<string> revoked)
    {
        this.tbs = tbs;
        Algorithm = algorithm;
        this.signature = signature;
        IssuerName = issuer;
        ThisUpdate = thisUpdate;
        NextUpdate = nextUpdate;
        this.revoked = revoked;
    }

    public string Algorithm { get; }

    /// <summary>The issuer Name as DER, compared byte for byte with the issuing certificate's subject.</summary>
    public ReadOnlyMemory<byte> IssuerName { get; }

    public DateTimeOffset ThisUpdate { get; }

    public DateTimeOffset? NextUpdate { get; }

    public int RevokedCount => revoked.Count;

    /// <summary>Reads DER, PEM (<c>X509 CRL</c>) or hex text of the DER, the three forms PCS and tools hand out.</summary>
    public static IntelCrl Parse(ReadOnlySpan<byte> input, string field)
    {
        // DER is taken as it is: trimming "whitespace" off binary cut CRLs whose signature happened to end in
        // 0x00, 0x09, 0x0A, 0x0D or 0x20 (about one random signature in fifty). Only text is trimmed.
        var der = !input.IsEmpty && input[0] == 0x30 ? input.ToArray() : FromText(input.Trim(" \t\r\n\0"u8), field);
        try
        {
            return Read(der);
        }
        catch (Exception e) when (e is AsnContentException or ArgumentException)
        {
            throw new EvidenceFormatException(field, "not a DER X.509 CRL: " + e.Message, e);
        }
    }

    private static byte[] FromText(ReadOnlySpan<byte> text, string field)
    {
        if (text.IndexOf("-----BEGIN"u8) >= 0)
        {
            var s = Encoding.ASCII.GetString(text);
            return PemEncoding.TryFind(s, out var f) && s[f.Label] == "X509 CRL"
                ? Convert.FromBase64String(s[f.Base64Data])
                : throw new EvidenceFormatException(field, "PEM input without an X509 CRL block");
        }

        return !text.IsEmpty && text[0] != 0x30 ? Hex.Parse(Encoding.ASCII.GetString(text), field) : text.ToArray();
    }

    /// <summary>Null when <paramref name="issuer"/>'s key signed this CRL and it names that issuer, else the reason.</summary>
    public string? VerifySignature(X509Certificate2 issuer)
    {
        if (!IssuerName.Span.SequenceEqual(issuer.SubjectName.RawData))
        {
            return $"CRL issuer is not '{issuer.Subject}'";
        }

        var hash = Algorithm switch
        {
            OidEcdsaSha256 => HashAlgorithmName.SHA256,
            OidEcdsaSha384 => HashAlgorithmName.SHA384,
            _ => (HashAlgorithmName?)null,
        };
        if (hash is null)
        {
            return $"unsupported CRL signature algorithm {Algorithm}";
        }

        using var key = issuer.GetECDsaPublicKey();
        if (key is null)
        {
            return "the CRL issuer has no EC key";
        }

        try
        {
            return key.VerifyData(tbs.Span, signature, hash.Value, DSASignatureFormat.Rfc3279DerSequence) ? null : "signature does not verify";
        }
        catch (CryptographicException e)
        {
            return "signature could not be checked: " + e.Message;
        }
    }

    public bool IsRevoked(X509Certificate2 certificate) => revoked.Contains(Serial(certificate.SerialNumberBytes.Span));

    private static IntelCrl Read(byte[] der)
    {
        var outer = new AsnReader(der, AsnEncodingRules.DER);
        var list = outer.ReadSequence();
        outer.ThrowIfNotEmpty();
        var tbsDer = list.ReadEncodedValue();
        var algorithm = list.ReadSequence().ReadObjectIdentifier();
        var sig = list.ReadBitString(out var unused);
        list.ThrowIfNotEmpty();
        if (unused != 0)
        {
            throw new AsnContentException("signature bit string has unused bits");
        }

        var t = new AsnReader(tbsDer, AsnEncodingRules.DER).ReadSequence();
        if (t.PeekTag().HasSameClassAndValue(Asn1Tag.Integer))
        {
            _ = t.ReadInteger();
        }

        var innerAlgorithm = t.ReadSequence().ReadObjectIdentifier();
        if (innerAlgorithm != algorithm)
        {
            throw new AsnContentException($"tbsCertList algorithm {innerAlgorithm} differs from the outer {algorithm}");
        }

        var issuer = t.ReadEncodedValue();
        var thisUpdate = ReadTime(t);
        DateTimeOffset? nextUpdate = t.HasData && IsTime(t.PeekTag()) ? ReadTime(t) : null;
        var serials = new HashSet<string>(StringComparer.Ordinal);
        if (t.HasData && t.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence))
        {
            var entries = t.ReadSequence();
            while (entries.HasData)
            {
                var entry = entries.ReadSequence();
                serials.Add(Serial(entry.ReadIntegerBytes().Span));
                _ = ReadTime(entry);
            }
        }

        return new IntelCrl(tbsDer, algorithm, sig, issuer, thisUpdate, nextUpdate, serials.ToFrozenSet(StringComparer.Ordinal));
    }

    private static bool IsTime(Asn1Tag tag) => tag.HasSameClassAndValue(Asn1Tag.UtcTime) || tag.HasSameClassAndValue(Asn1Tag.GeneralizedTime);

    private static DateTimeOffset ReadTime(AsnReader r) =>
        r.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime) ? r.ReadUtcTime() : r.ReadGeneralizedTime();

    /// <summary>Serials compared as unsigned big-endian numbers (DER may add a leading zero byte).</summary>
    private static string Serial(ReadOnlySpan<byte> bigEndian)
    {
        var i = 0;
        while (i < bigEndian.Length - 1 && bigEndian[i] == 0)
        {
            i++;
        }

        return Convert.ToHexString(bigEndian[i..]);
    }
}
