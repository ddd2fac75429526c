using Veil.Abi.Snp;

namespace Veil.Attestation.Snp;

/// <summary>One entry of the extended-report certificate table.</summary>
public sealed record SnpCertTableEntry(Guid Id, ReadOnlyMemory<byte> Data)
{
    public static readonly Guid VcekGuid = SnpCertTableLayout.Vcek;
    public static readonly Guid VlekGuid = SnpCertTableLayout.Vlek;
    public static readonly Guid AskGuid = SnpCertTableLayout.Ask;
    public static readonly Guid ArkGuid = SnpCertTableLayout.Ark;

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
    private const int EntrySize = SnpCertTableLayout.EntryLength;

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

            var guid = SnpCertTableLayout.ReadGuid(entry);
            var offset = SnpCertTableLayout.ReadOffset(entry);
            var length = SnpCertTableLayout.ReadLength(entry);
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
            SnpCertTableLayout.Write(slot, entries[i].Id, (uint)offset, (uint)entries[i].Data.Length);
            entries[i].Data.Span.CopyTo(table.AsSpan(offset));
            offset += entries[i].Data.Length;
        }

        return table;
    }
}
