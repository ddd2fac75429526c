using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography.X509Certificates;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.Tdx.Parsing;

/// <summary>
/// The Intel SGX extensions of a PCK certificate (OID 1.2.840.113741.1.13.1; "Intel SGX PCK Certificate and CRL
/// Profile"): a SEQUENCE of {OID, value} pairs. Read with System.Formats.Asn1 because .NET has no decoder for
/// this private extension. These values say which platform TCB Intel certified the PCK key for, so TCB
/// levels are matched against them (never against values the quote itself claims).
/// </summary>
public sealed record PckExtensions(
    ReadOnlyMemory<byte> Ppid,
    IReadOnlyList<int> SgxTcbComponents,
    int PceSvn,
    ReadOnlyMemory<byte> CpuSvn,
    ReadOnlyMemory<byte> PceId,
    ReadOnlyMemory<byte> Fmspc,
    int SgxType)
{
    public const string OidSgxExtensions = "1.2.840.113741.1.13.1";
    private const string Prefix = OidSgxExtensions + ".";

    /// <summary>The PCK CA that issued the certificate: "platform" or "processor" (the <c>ca=</c> of PCS CRL requests).</summary>
    public static string CaKind(X509Certificate2 pckLeaf)
    {
        var issuer = pckLeaf.GetNameInfo(X509NameType.SimpleName, forIssuer: true) ?? "";
        return issuer.Contains("Processor", StringComparison.OrdinalIgnoreCase) ? "processor" : "platform";
    }

    public static PckExtensions From(X509Certificate2 pck)
    {
        var ext = pck.Extensions[OidSgxExtensions]
            ?? throw new EvidenceFormatException("pck.sgx_extensions", "the PCK certificate has no Intel SGX extension (1.2.840.113741.1.13.1)");
        try
        {
            return Read(ext.RawData);
        }
        catch (AsnContentException e)
        {
            throw new EvidenceFormatException("pck.sgx_extensions", "not valid DER: " + e.Message, e);
        }
    }

    private static PckExtensions Read(byte[] der)
    {
        ReadOnlyMemory<byte>? ppid = null, cpuSvn = null, pceId = null, fmspc = null;
        int? pceSvn = null, sgxType = null;
        var comps = new int[16];
        var seenComps = 0;
        var outer = new AsnReader(der, AsnEncodingRules.DER);
        var seq = outer.ReadSequence();
        outer.ThrowIfNotEmpty();
        while (seq.HasData)
        {
            var item = seq.ReadSequence();
            var oid = item.ReadObjectIdentifier();
            switch (oid)
            {
                case Prefix + "1": ppid = item.ReadOctetString(); break;
                case Prefix + "2":
                    var tcb = item.ReadSequence();
                    while (tcb.HasData)
                    {
                        var c = tcb.ReadSequence();
                        var cOid = c.ReadObjectIdentifier();
                        if (cOid == Prefix + "2.17")
                        {
                            pceSvn = SmallInt(c, "pck.sgx_extensions.pcesvn", 0xFFFF);
                        }
                        else if (cOid == Prefix + "2.18")
                        {
                            cpuSvn = c.ReadOctetString();
                        }
                        else if (cOid.StartsWith(Prefix + "2.", StringComparison.Ordinal)
                            && int.TryParse(cOid.AsSpan(Prefix.Length + 2), out var n) && n is >= 1 and <= 16)
                        {
                            comps[n - 1] = SmallInt(c, $"pck.sgx_extensions.comp{n:D2}_svn", 0xFF);
                            seenComps |= 1 << (n - 1);
                        }
                        else
                        {
                            _ = c.ReadEncodedValue();
                        }
                    }

                    break;
                case Prefix + "3": pceId = item.ReadOctetString(); break;
                case Prefix + "4": fmspc = item.ReadOctetString(); break;
                case Prefix + "5": sgxType = SmallInt(item, "pck.sgx_extensions.sgx_type", 0xFF); break;
                default: _ = item.ReadEncodedValue(); break;
            }
        }

        if (seenComps != 0xFFFF)
        {
            throw new EvidenceFormatException("pck.sgx_extensions.tcb", "the 16 SGX TCB component SVNs are not all present");
        }

        return new PckExtensions(
            ppid ?? ReadOnlyMemory<byte>.Empty,
            comps,
            pceSvn ?? throw new EvidenceFormatException("pck.sgx_extensions.pcesvn", "missing"),
            Exact(cpuSvn, 16, "pck.sgx_extensions.cpusvn"),
            Exact(pceId, 2, "pck.sgx_extensions.pceid"),
            Exact(fmspc, 6, "pck.sgx_extensions.fmspc"),
            sgxType ?? 0);
    }

    private static int SmallInt(AsnReader r, string field, int max)
    {
        // The SGX type is an ENUMERATED, the SVNs are INTEGERs; both are small non-negative numbers.
        var v = r.PeekTag().HasSameClassAndValue(Asn1Tag.Enumerated)
            ? new BigInteger(r.ReadEnumeratedBytes().Span, isUnsigned: false, isBigEndian: true)
            : r.ReadInteger();
        return v < 0 || v > max ? throw new EvidenceFormatException(field, $"value {v} out of range 0..{max}") : (int)v;
    }

    private static ReadOnlyMemory<byte> Exact(ReadOnlyMemory<byte>? value, int length, string field) => value switch
    {
        null => throw new EvidenceFormatException(field, "missing"),
        { Length: var l } when l != length => throw new EvidenceFormatException(field, $"{l} bytes, expected {length}"),
        { } v => v,
    };
}
