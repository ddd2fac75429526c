using System.Buffers.Binary;

namespace Veil.Measure.Snp;

/// <summary>Kinds of pages that the OVMF SEV metadata asks the VMM to add before launch.</summary>
public enum OvmfSectionType
{
    SnpSecMem = 1,
    SnpSecrets = 2,
    Cpuid = 3,
    SvsmCaa = 4,
    SnpKernelHashes = 0x10,
}

/// <summary>One entry of the OVMF SEV metadata ("ASEV") table.</summary>
public sealed record OvmfSection(uint Gpa, uint Size, OvmfSectionType Type);

/// <summary>
/// An OVMF firmware image as QEMU maps it: ending at 4 GiB, with the GUIDed footer table just below the
/// last 32 bytes and the SEV metadata it points to. The layout is edk2's
/// (OvmfPkg/ResetVector/Ia16/ResetVectorVtf0.asm and X64/OvmfSevMetadata.asm); it is parsed by hand
/// because no library reads it. Every offset is bounds-checked: a damaged image is a named error.
/// </summary>
public sealed class OvmfImage
{
    public const ulong FourGiB = 0x1_0000_0000;

    internal static readonly byte[] FooterGuid = Guids.Bytes("96b582de-1fb2-45f7-baea-a366c55a082d");
    internal static readonly byte[] SevHashTableGuid = Guids.Bytes("7255371f-3a3b-4b04-927b-1da6efa8d454");
    internal static readonly byte[] SevEsResetBlockGuid = Guids.Bytes("00f771de-1a7e-4fcb-890e-68c77e2fb44e");
    internal static readonly byte[] SevMetadataGuid = Guids.Bytes("dc886566-984a-4798-a75e-5585a7bf67cc");

    private const int EntryHeader = 18; // u16 size + 16-byte GUID, at the *end* of each entry
    private const int MetadataHeader = 16; // "ASEV", u32 size, u32 version, u32 count
    private const int MetadataEntry = 12;

    private readonly Dictionary<Guid, byte[]> _table;

    private OvmfImage(byte[] data, Dictionary<Guid, byte[]> table, IReadOnlyList<OvmfSection> sections)
    {
        Data = data;
        _table = table;
        Sections = sections;
    }

    /// <summary>The whole image (it is measured page by page).</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>Where the image starts in guest physical memory (it ends at 4 GiB).</summary>
    public ulong Gpa => FourGiB - (ulong)Data.Length;

    /// <summary>The SEV metadata sections, in table order (the order in which they are measured).</summary>
    public IReadOnlyList<OvmfSection> Sections { get; }

    public bool HasSection(OvmfSectionType type) => Sections.Any(s => s.Type == type);

    /// <summary>The AP reset vector from the SEV-ES reset block (needed for the AP VMSAs).</summary>
    public uint SevEsResetEip => FirstU32(SevEsResetBlockGuid, "ovmf.sev_es_reset_block", "the image has no SEV-ES reset block entry; it does not support SEV-ES/SNP");

    /// <summary>True when the image reserves space for QEMU's kernel/initrd/cmdline hashes table.</summary>
    public bool SupportsKernelHashes => _table.TryGetValue(new Guid(SevHashTableGuid), out var e) && e.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(e) != 0;

    public uint SevHashTableGpa => FirstU32(SevHashTableGuid, "ovmf.sev_hash_table", "the image has no SEV hash table entry");

    public static OvmfImage Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new MeasureException("--ovmf", $"file not found: {path}");
        }

        return Parse(File.ReadAllBytes(path));
    }

    public static OvmfImage Parse(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Length % 4096 != 0)
        {
            throw new MeasureException("ovmf", $"image size {data.Length} is not a multiple of the 4096-byte page size");
        }

        if ((ulong)data.Length > FourGiB)
        {
            throw new MeasureException("ovmf", $"image size {data.Length} does not fit below 4 GiB");
        }

        var table = ParseFooterTable(data);
        var sections = ParseMetadata(data, table);
        return new OvmfImage(data, table, sections);
    }

    private uint FirstU32(byte[] guid, string field, string missing)
    {
        if (!_table.TryGetValue(new Guid(guid), out var entry))
        {
            throw new MeasureException(field, missing);
        }

        if (entry.Length < 4)
        {
            throw new MeasureException(field, $"entry has {entry.Length} bytes, at least 4 expected");
        }

        return BinaryPrimitives.ReadUInt32LittleEndian(entry);
    }

    private static Dictionary<Guid, byte[]> ParseFooterTable(ReadOnlySpan<byte> data)
    {
        var table = new Dictionary<Guid, byte[]>();
        if (data.Length < 32 + EntryHeader)
        {
            throw new MeasureException("ovmf", $"image of {data.Length} bytes is too small to hold a footer table");
        }

        // The table ends 32 bytes before the end of the image; its footer entry is the last one.
        var footerStart = data.Length - 32 - EntryHeader;
        var footer = data.Slice(footerStart, EntryHeader);
        if (!footer[2..].SequenceEqual(FooterGuid))
        {
            // Images without the table (plain non-SEV builds) measure as data only.
            return table;
        }

        var tableSize = BinaryPrimitives.ReadUInt16LittleEndian(footer) - EntryHeader;
        if (tableSize < 0 || tableSize > footerStart)
        {
            throw new MeasureException("ovmf.footer", $"table size {tableSize + EntryHeader} is outside the image");
        }

        var rest = data.Slice(footerStart - tableSize, tableSize);
        while (rest.Length >= EntryHeader)
        {
            var header = rest[^EntryHeader..];
            var size = BinaryPrimitives.ReadUInt16LittleEndian(header);
            if (size < EntryHeader || size > rest.Length)
            {
                throw new MeasureException("ovmf.footer", $"entry size {size} is invalid (must be {EntryHeader}..{rest.Length})");
            }

            var guid = new Guid(header[2..]);
            table[guid] = rest.Slice(rest.Length - size, size - EntryHeader).ToArray();
            rest = rest[..^size];
        }

        return table;
    }

    private static List<OvmfSection> ParseMetadata(ReadOnlySpan<byte> data, Dictionary<Guid, byte[]> table)
    {
        var sections = new List<OvmfSection>();
        if (!table.TryGetValue(new Guid(SevMetadataGuid), out var entry))
        {
            return sections;
        }

        if (entry.Length < 4)
        {
            throw new MeasureException("ovmf.sev_metadata", $"pointer entry has {entry.Length} bytes, 4 expected");
        }

        var offsetFromEnd = BinaryPrimitives.ReadUInt32LittleEndian(entry);
        if (offsetFromEnd > data.Length || offsetFromEnd < MetadataHeader)
        {
            throw new MeasureException("ovmf.sev_metadata", $"offset {offsetFromEnd} from the end lies outside the image");
        }

        var start = data.Length - (int)offsetFromEnd;
        var header = data.Slice(start, MetadataHeader);
        if (!header[..4].SequenceEqual("ASEV"u8))
        {
            throw new MeasureException("ovmf.sev_metadata.signature", "expected 'ASEV'");
        }

        var size = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
        var version = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        var count = BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
        if (version != 1)
        {
            throw new MeasureException("ovmf.sev_metadata.version", $"version {version} is not supported (1 expected)");
        }

        if (size < MetadataHeader || size > offsetFromEnd || count > (size - MetadataHeader) / MetadataEntry)
        {
            throw new MeasureException("ovmf.sev_metadata.size", $"size {size} with {count} sections does not fit in the image");
        }

        var items = data.Slice(start + MetadataHeader, (int)count * MetadataEntry);
        for (var i = 0; i < count; i++)
        {
            var item = items.Slice(i * MetadataEntry, MetadataEntry);
            var type = BinaryPrimitives.ReadUInt32LittleEndian(item[8..]);
            if (!Enum.IsDefined((OvmfSectionType)type))
            {
                throw new MeasureException($"ovmf.sev_metadata.section[{i}].type", $"unknown section type {type}");
            }

            sections.Add(new OvmfSection(
                BinaryPrimitives.ReadUInt32LittleEndian(item),
                BinaryPrimitives.ReadUInt32LittleEndian(item[4..]),
                (OvmfSectionType)type));
        }

        return sections;
    }
}
