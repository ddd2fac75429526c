using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using System.Xml;

namespace Veil.Attestation.Nvidia.Rim;

/// <summary>Which component a RIM describes: the GPU driver or the device firmware (GPU VBIOS, NVSwitch BIOS).</summary>
public enum RimKind
{
    Driver,
    Firmware,
}

/// <summary>How a RIM is encoded: a SWID tag in signed XML, or a CoRIM (CBOR, signed with COSE_Sign1).</summary>
public enum RimFormat
{
    Swid,
    Corim,
}

/// <summary>One reference measurement: its RIM index (0-based), whether it is checked, and the accepted digests.</summary>
public sealed record RimMeasurement(int Index, bool Active, IReadOnlyList<ReadOnlyMemory<byte>> Alternatives, int Size, string? Name);

/// <summary>
/// A NVIDIA reference integrity manifest: an ISO/IEC 19770-2:2015 SWID tag with TCG RIM attributes
/// (nvtrust verifier/rim/__init__.py; schema swidSchema2015.xsd), signed with an enveloped XML signature —
/// or the same content as a CoRIM (<see cref="CorimDocument"/>), which <see cref="Parse"/> recognises by its first bytes.
/// </summary>
public sealed partial record RimDocument
{
    public const string SwidNamespace = "http://standards.iso.org/iso/19770/-2/2015/schema.xsd";
    public const string Sha384Namespace = "http://www.w3.org/2001/04/xmlenc#sha384";
    private const string TcgRimNamespace = "https://trustedcomputinggroup.org/resource/tcg-reference-integrity-manifest-rim-information-model/";
    private const int MaxBytes = 4 * 1024 * 1024;

    public required string TagId { get; init; }

    /// <summary>The chip or product the RIM is for (<c>GH100</c>, <c>LS10</c>).</summary>
    public required string Product { get; init; }

    /// <summary>colloquialVersion: the driver or firmware version the measurements belong to.</summary>
    public required string Version { get; init; }

    public required RimKind Kind { get; init; }

    public required string? ManufacturerId { get; init; }

    public required IReadOnlyList<RimMeasurement> Measurements { get; init; }

    public RimFormat Format { get; init; } = RimFormat.Swid;

    /// <summary>A CoRIM's rim-validity window, when it states one (SWID RIMs have none).</summary>
    public DateTimeOffset? NotBefore { get; init; }

    public DateTimeOffset? NotAfter { get; init; }

    /// <summary>The document as loaded (whitespace preserved), for the signature check. Never modified. SWID only.</summary>
    internal XmlDocument Xml { get; init; } = null!;

    /// <summary>A CoRIM's COSE_Sign1 envelope; null for an unsigned CoRIM (and for SWID).</summary>
    internal CoseSign1? Cose { get; init; }

    /// <summary>Parses a RIM. <paramref name="field"/> names the input in errors (e.g. the file name).</summary>
    public static RimDocument Parse(ReadOnlySpan<byte> bytes, string field)
    {
        if (bytes.IsEmpty || bytes.Length > MaxBytes)
        {
            throw new EvidenceFormatException(field, bytes.IsEmpty ? "empty RIM" : $"oversized RIM: {bytes.Length} bytes (limit {MaxBytes})");
        }

        if (CorimDocument.IsCbor(bytes))
        {
            return CorimDocument.Parse(bytes.ToArray(), field);
        }

        var xml = Load(bytes.ToArray(), field);
        var root = xml.DocumentElement!;
        if (root.LocalName != "SoftwareIdentity" || root.NamespaceURI != SwidNamespace)
        {
            throw new EvidenceFormatException(field, $"root element is {root.Name}, not a SWID SoftwareIdentity");
        }

        var meta = Child(root, "Meta") ?? throw new EvidenceFormatException(field + ".Meta", "missing");
        var version = Attr(meta, "colloquialVersion") ?? throw new EvidenceFormatException(field + ".Meta.colloquialVersion", "missing");
        var payload = Child(root, "Payload") ?? throw new EvidenceFormatException(field + ".Payload", "missing");
        var measurements = new List<RimMeasurement>();
        foreach (XmlNode node in payload.ChildNodes)
        {
            if (node is XmlElement { LocalName: "Resource" } e && e.NamespaceURI == SwidNamespace && Attr(e, "type") == "Measurement")
            {
                measurements.Add(Measurement(e, $"{field}.Payload.Resource[{measurements.Count}]"));
            }
        }

        var seen = new HashSet<int>();
        foreach (var m in measurements)
        {
            if (!seen.Add(m.Index))
            {
                throw new EvidenceFormatException(field + ".Payload", $"measurement index {m.Index} appears twice");
            }
        }

        return new RimDocument
        {
            TagId = Attr(root, "tagId") ?? throw new EvidenceFormatException(field + ".tagId", "missing"),
            Product = Attr(root, "name") ?? "",
            Version = version,
            Kind = KindOf(version),
            ManufacturerId = meta.GetAttribute("PlatformManufacturerId", TcgRimNamespace) is { Length: > 0 } id ? id : null,
            Measurements = measurements,
            Xml = xml,
        };
    }

    /// <summary>Firmware versions are five dot-separated hex pairs (96.00.5E.00.01); driver versions are not.</summary>
    public static RimKind KindOf(string version) => FirmwareVersion().IsMatch(version) ? RimKind.Firmware : RimKind.Driver;

    // A fixed pattern with no loop inside a loop matches in linear time; no timeout (a wall-clock timeout also fires
    // when the thread is merely descheduled, failing a good RIM on a loaded node).
    [GeneratedRegex("^[0-9A-Fa-f]{2}(\\.[0-9A-Fa-f]{2}){4}$", RegexOptions.CultureInvariant)]
    private static partial Regex FirmwareVersion();

    private static XmlDocument Load(byte[] bytes, string field)
    {
        // No DTDs, no external resolution: a RIM is data, and entity tricks must not reach the canonicaliser.
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            MaxCharactersInDocument = MaxBytes,
        };
        var doc = new XmlDocument { PreserveWhitespace = true, XmlResolver = null };
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            using var reader = XmlReader.Create(stream, settings);
            doc.Load(reader);
        }
        catch (XmlException e)
        {
            throw new EvidenceFormatException(field, "not well-formed XML: " + e.Message, e);
        }

        return doc.DocumentElement is null ? throw new EvidenceFormatException(field, "no root element") : doc;
    }

    private static RimMeasurement Measurement(XmlElement e, string field)
    {
        var index = Int(e, "index", field);
        var alternatives = Int(e, "alternatives", field);
        var size = Int(e, "size", field);
        var active = Attr(e, "active") switch
        {
            "True" or "true" => true,
            "False" or "false" => false,
            var other => throw new EvidenceFormatException(field + ".active", $"'{other}' is not True or False"),
        };
        if (alternatives is < 1 or > 64 || size is < 1 or > 64)
        {
            throw new EvidenceFormatException(field, $"alternatives {alternatives} or size {size} out of range");
        }

        var hashes = new List<ReadOnlyMemory<byte>>(alternatives);
        for (var i = 0; i < alternatives; i++)
        {
            var hex = e.GetAttribute("Hash" + i.ToString(CultureInfo.InvariantCulture), Sha384Namespace);
            if (hex.Length == 0)
            {
                throw new EvidenceFormatException($"{field}.Hash{i}", "missing");
            }

            var digest = Hex.Parse(hex, $"{field}.Hash{i}");
            hashes.Add(digest.Length == size ? digest : throw new EvidenceFormatException($"{field}.Hash{i}", $"{digest.Length} bytes, size says {size}"));
        }

        return new RimMeasurement(index, active, hashes, size, Attr(e, "name"));
    }

    private static int Int(XmlElement e, string name, string field) =>
        int.TryParse(Attr(e, name), NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= 0
            ? v
            : throw new EvidenceFormatException($"{field}.{name}", $"'{Attr(e, name)}' is not a non-negative integer");

    private static string? Attr(XmlElement e, string name) => e.HasAttribute(name) ? e.GetAttribute(name) : null;

    private static XmlElement? Child(XmlElement parent, string localName)
    {
        foreach (XmlNode n in parent.ChildNodes)
        {
            if (n is XmlElement e && e.LocalName == localName && e.NamespaceURI == SwidNamespace)
            {
                return e;
            }
        }

        return null;
    }
}
