using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography.X509Certificates;

namespace Veil.Attestation.Snp;

/// <summary>
/// A VCEK or VLEK certificate with AMD's extensions decoded (VCEK/KDS spec #57230; go-sev-guest kds/kds.go).
/// The extensions state the TCB the key was derived for and, for a VCEK, the chip it belongs to.
/// </summary>
public sealed record SnpSigningCertificate
{
    private const string OidStructVersion = "1.3.6.1.4.1.3704.1.1";
    private const string OidProductName = "1.3.6.1.4.1.3704.1.2";
    private const string OidBlSpl = "1.3.6.1.4.1.3704.1.3.1";
    private const string OidTeeSpl = "1.3.6.1.4.1.3704.1.3.2";
    private const string OidSnpSpl = "1.3.6.1.4.1.3704.1.3.3";
    private const string OidUcodeSpl = "1.3.6.1.4.1.3704.1.3.8";
    private const string OidFmcSpl = "1.3.6.1.4.1.3704.1.3.9";
    private const string OidHwId = "1.3.6.1.4.1.3704.1.4";
    private const string OidCspId = "1.3.6.1.4.1.3704.1.5";

    public required X509Certificate2 Certificate { get; init; }

    public required SnpSigningKey Kind { get; init; }

    public required string? ProductName { get; init; }

    public required long? BlSpl { get; init; }

    public required long? TeeSpl { get; init; }

    public required long? SnpSpl { get; init; }

    public required long? UcodeSpl { get; init; }

    public required long? FmcSpl { get; init; }

    /// <summary>The chip id (64 bytes on Milan/Genoa, 8 on Turin); VCEK only.</summary>
    public required ReadOnlyMemory<byte>? HwId { get; init; }

    /// <summary>The cloud provider the VLEK was issued to; VLEK only.</summary>
    public required string? CspId { get; init; }

    public SnpProduct? Product => SnpProducts.FromProductName(ProductName);

    /// <summary>Decodes the extensions once per certificate instance (instances are shared, see <see cref="Certificates"/>).</summary>
    public static SnpSigningCertificate From(X509Certificate2 certificate, string field) =>
        Decoded.TryGetValue(certificate, out var known) ? known : Decoded.GetValue(certificate, c => Decode(c, field));

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<X509Certificate2, SnpSigningCertificate> Decoded = new();

    private static SnpSigningCertificate Decode(X509Certificate2 certificate, string field)
    {
        var cn = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        SnpSigningKey kind = cn switch
        {
            "SEV-VCEK" => SnpSigningKey.Vcek,
            "SEV-VLEK" => SnpSigningKey.Vlek,
            _ => throw new EvidenceFormatException(field, $"certificate CN '{cn}' is neither SEV-VCEK nor SEV-VLEK"),
        };

        string? productName = null, cspId = null;
        long? bl = null, tee = null, snp = null, ucode = null, fmc = null;
        ReadOnlyMemory<byte>? hwId = null;
        foreach (var ext in certificate.Extensions)
        {
            var value = ext.RawData;
            try
            {
                switch (ext.Oid?.Value)
                {
                    case OidProductName: productName = ReadIa5(value); break;
                    case OidBlSpl: bl = ReadInteger(value); break;
                    case OidTeeSpl: tee = ReadInteger(value); break;
                    case OidSnpSpl: snp = ReadInteger(value); break;
                    case OidUcodeSpl: ucode = ReadInteger(value); break;
                    case OidFmcSpl: fmc = ReadInteger(value); break;
                    case OidHwId: hwId = ReadHwId(value); break;
                    case OidCspId: cspId = ReadIa5(value); break;
                    case OidStructVersion: _ = ReadInteger(value); break;
                    default: break;
                }
            }
            catch (AsnContentException e)
            {
                throw new EvidenceFormatException($"{field}.extension[{ext.Oid?.Value}]", "not valid DER: " + e.Message, e);
            }
        }

        return new SnpSigningCertificate
        {
            Certificate = certificate,
            Kind = kind,
            ProductName = productName,
            BlSpl = bl,
            TeeSpl = tee,
            SnpSpl = snp,
            UcodeSpl = ucode,
            FmcSpl = fmc,
            HwId = hwId,
            CspId = cspId,
        };
    }

    private static string ReadIa5(byte[] value)
    {
        var r = new AsnReader(value, AsnEncodingRules.DER);
        var s = r.ReadCharacterString(UniversalTagNumber.IA5String);
        r.ThrowIfNotEmpty();
        return s;
    }

    private static long ReadInteger(byte[] value)
    {
        var r = new AsnReader(value, AsnEncodingRules.DER);
        BigInteger v = r.ReadInteger();
        r.ThrowIfNotEmpty();
        return v < 0 || v > long.MaxValue ? throw new AsnContentException("integer out of range") : (long)v;
    }

    /// <summary>
    /// AMD put the raw chip id into the extension without a DER tag; some certificates (and Trustee's
    /// fixtures) wrap it in an OCTET STRING. Accept both: a wrapped value is recognised by a tag and length
    /// that cover the rest exactly.
    /// </summary>
    private static ReadOnlyMemory<byte> ReadHwId(byte[] value)
    {
        if (value.Length is 10 or 66 && value[0] == 0x04 && value[1] == value.Length - 2)
        {
            return value.AsMemory(2);
        }

        return value.Length is 8 or 64 ? value : throw new AsnContentException($"hwID has {value.Length} bytes (8 or 64 expected)");
    }
}
