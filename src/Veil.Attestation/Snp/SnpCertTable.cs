using System.Buffers.Binary;

namespace Veil.Attestation.Snp;

/// <summary>One entry of the extended-report certificate table.</summary>
public sealed record SnpCertTableEntry(Guid Id, ReadOnlyMemory<byte> Data)
{
    public static readonly Guid VcekGuid = new("63da758d-e664-4564-adc5-f4b93be8accd");
    public static readonly Guid VlekGuid = new("a8074bc2-a25a-483e-aae6-39c045a0b8a1");
    public static readonly Guid AskGuid = new("4ab7b379-bbac-4fe4-a02f-05aef327c782");
    public static readonly Guid ArkGuid = new("c0b406a4-a803-4952-9743-3fb6014cd0ae");

    public string Kind =>
        Id == VcekGuid ? "vcek" : Id == VlekGuid ? "vlek" : Id == AskGuid ? "ask" : Id == ArkGuid ? "ark" : "unknown";
}

/// <summary>
/// The certificate table returned with SNP extended reports (SNP_GET_EXT_REPORT, configfs-tsm <c>auxblob</c>;
/// GHCB spec #56421): 24-byte entries {GUID, offset u32, length u32} ended by an all-zero entry, offsets
/// relative to the start of the table.
/// </summary>
public static class SnpCertTable
{
    private const int EntrySize = 24;

    public static IReadOnlyList<SnpCertTableEntry> Parse(ReadOnlySpan<byte> table)
    {
        var entries = new List<SnpCertTableEntry>();
        var copy = table.ToArray();
        for (var i = 0; ; i++)
        {
            var at = i * EntrySize;
            if (at + EntrySize > table.Length)
            {
                throw new EvidenceFormatException("cert_table", $"no terminating all-zero entry within {table.Length} bytes");
            }

            var entry = table.Slice(at, EntrySize);
            if (Hex.IsZero(entry))
            {
                return entries;
            }

            var guid = new Guid(entry[..16], bigEndian: false);
            var offset = BinaryPrimitives.ReadUInt32LittleEndian(entry[16..]);
            var length = BinaryPrimitives.ReadUInt32LittleEndian(entry[20..]);
            var field = $"cert_table[{i}]";
            var headerEnd = (long)(i + 1) * EntrySize;
            if (offset < headerEnd || (long)offset + length > table.Length)
            {
                throw new EvidenceFormatException(field, $"offset {offset} + length {length} outside the table of {table.Length} bytes");
            }

            if (length == 0)
            {
                throw new EvidenceFormatException(field, "zero-length certificate");
            }

            entries.Add(new SnpCertTableEntry(guid, copy.AsMemory((int)offset, (int)length)));
        }
    }

    /// <summary>Builds a table (used by tests and by the guest agent's fakes); the inverse of <see cref="Parse"/>.</summary>
    public static byte[] Build(IReadOnlyList<SnpCertTableEntry> entries)
    {
        var header = (entries.Count + 1) * EntrySize;
        var total = header + entries.Sum(e => e.Data.Length);
        var table = new byte[total];
        var offset = header;
        for (var i = 0; i < entries.Count; i++)
        {
            var slot = table.AsSpan(i * EntrySize, EntrySize);
            entries[i].Id.TryWriteBytes(slot[..16], bigEndian: false, out _);
            BinaryPrimitives.WriteUInt32LittleEndian(slot[16..], (uint)offset);
            BinaryPrimitives.WriteUInt32LittleEndian(slot[20..], (uint)entries[i].Data.Length);
            entries[i].Data.Span.CopyTo(table.AsSpan(offset));
            offset += entries[i].Data.Length;
        }

        return table;
    }
}
