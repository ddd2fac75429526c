using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography.X509Certificates;

namespace Veil.Attestation.Nvidia;

/// <summary>Whether a device is a GPU or an NVSwitch; both speak the same SPDM format with their own chains.</summary>
public enum NvidiaDeviceKind
{
    Gpu,
    Switch,
}

/// <summary>
/// What the device chain says about the device: architecture and kind from the certificate names
/// (<c>GH100 A01 GSP FMC LF</c>, <c>GB100 …</c>, <c>LS_10 A01 FSP FMC LF</c>), identity from the leaf's
/// serial number (NVIDIA's <c>ueid</c> is its decimal form) and the FWID from the leaf's TCG DICE TcbInfo.
/// </summary>
public sealed record NvidiaDeviceCertificate(
    X509Certificate2 Leaf,
    string? Arch,
    NvidiaDeviceKind? Kind,
    string? HardwareModel,
    string SerialHex,
    string Ueid,
    ReadOnlyMemory<byte>? Fwid)
{
    /// <summary>tcg-dice-TcbInfo (TCG DICE Attestation Architecture §6.1.1), as Hopper leaves carry it.</summary>
    public const string TcbInfoOid = "2.23.133.5.4.1";

    /// <summary>The same arc with a trailing .1, as Blackwell leaves carry a standard TcbInfo.</summary>
    public const string TcbInfoBlackwellOid = "2.23.133.5.4.1.1";

    public static NvidiaDeviceCertificate From(IReadOnlyList<X509Certificate2> chain)
    {
        var leaf = chain[0];
        var prefix = leaf.GetNameInfo(X509NameType.SimpleName, false).Split(' ')[0];
        var (arch, kind) = prefix switch
        {
            "GH100" => ("HOPPER", NvidiaDeviceKind.Gpu),
            _ when prefix.StartsWith("GB10", StringComparison.Ordinal) || prefix.StartsWith("GB20", StringComparison.Ordinal) => ("BLACKWELL", NvidiaDeviceKind.Gpu),
            "LS_10" => ("LS10", NvidiaDeviceKind.Switch),
            _ => ((string?)null, (NvidiaDeviceKind?)null),
        };

        // The device identity certificate (BROM/FSP) is the leaf's issuer; its name is NVIDIA's "hwmodel".
        var hwModel = chain.Count > 1 ? chain[1].GetNameInfo(X509NameType.SimpleName, false) : null;
        var serial = leaf.SerialNumberBytes.Span;
        var ueid = new BigInteger(serial, isUnsigned: true, isBigEndian: true).ToString();
        return new NvidiaDeviceCertificate(leaf, arch, kind, hwModel, Hex.Lower(serial), ueid, ReadFwid(leaf));
    }

    /// <summary>The first FWID digest in the leaf's TcbInfo extension, or null when there is none.</summary>
    /// <exception cref="EvidenceFormatException">The extension is present but malformed.</exception>
    internal static ReadOnlyMemory<byte>? ReadFwid(X509Certificate2 leaf)
    {
        var ext = leaf.Extensions[TcbInfoOid] ?? leaf.Extensions[TcbInfoBlackwellOid];
        if (ext is null)
        {
            return null;
        }

        try
        {
            // TCG's TcbInfo holds FWIDs as fwids [6] SEQUENCE OF SEQUENCE { hashAlg OID, digest OCTET STRING };
            // NVIDIA's GPU leaves carry SEQUENCE { version, publicKey, SEQUENCE { hashAlg, digest } } under the same
            // OID. Both put the digest in a { hash OID, OCTET STRING } pair, so that pair is what is looked for.
            // Explicit: a null byte[] would otherwise become an empty, non-null ReadOnlyMemory.
            return FindDigest(new AsnReader(ext.RawData, AsnEncodingRules.DER), depth: 0) is { } digest ? (ReadOnlyMemory<byte>?)digest : null;
        }
        catch (AsnContentException e)
        {
            throw new EvidenceFormatException("device_chain[0].tcb_info", "malformed TCG DICE TcbInfo extension: " + e.Message, e);
        }
    }

    private static byte[]? FindDigest(AsnReader reader, int depth)
    {
        if (depth > 8)
        {
            throw new AsnContentException("nested too deeply");
        }

        while (reader.HasData)
        {
            var tag = reader.PeekTag();
            var container = tag.IsConstructed && (tag.TagClass != TagClass.Universal || tag.TagValue == (int)UniversalTagNumber.Sequence);
            if (!container)
            {
                // Primitives, and universal constructed types other than SEQUENCE (SET, BER strings), hold no FWID pair.
                reader.ReadEncodedValue();
                continue;
            }

            var inner = new AsnReader(reader.ReadEncodedValue(), AsnEncodingRules.DER).ReadSequence(tag);
            var probe = inner.Clone();
            if (probe.HasData && probe.PeekTag() == Asn1Tag.ObjectIdentifier)
            {
                var oid = probe.ReadObjectIdentifier();
                if (oid is "2.16.840.1.101.3.4.2.1" or "2.16.840.1.101.3.4.2.2" or "2.16.840.1.101.3.4.2.3"
                    && probe.HasData && probe.PeekTag() == Asn1Tag.PrimitiveOctetString)
                {
                    return probe.ReadOctetString();
                }
            }

            if (FindDigest(inner, depth + 1) is { } found)
            {
                return found;
            }
        }

        return null;
    }
}
