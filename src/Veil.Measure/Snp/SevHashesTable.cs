using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Veil.Measure.Snp;

/// <summary>
/// The kernel/initrd/cmdline hashes table that QEMU writes into the page OVMF reserves for it
/// (measured direct boot). Must be byte-identical to QEMU's (target/i386/sev.c) for digests to match:
/// a GUIDed header, then cmdline, initrd and kernel entries each holding a SHA-256, padded to 16 bytes.
/// </summary>
internal static class SevHashesTable
{
    private static readonly byte[] HeaderGuid = Guids.Bytes("9438d606-4f22-4cc9-b479-a793d411fd21");
    private static readonly byte[] CmdlineGuid = Guids.Bytes("97d02dd8-bd20-4c94-aa78-e7714d36ab2a");
    private static readonly byte[] InitrdGuid = Guids.Bytes("44baf731-3a2f-4bd7-9af1-41e29169781d");
    private static readonly byte[] KernelGuid = Guids.Bytes("4de79437-abd2-427f-b835-d5b172d2045b");

    private const int EntrySize = 16 + 2 + 32;
    private const int TableLength = 16 + 2 + (3 * EntrySize);

    /// <summary>The table (length padded to 16). A missing initrd hashes as empty; the cmdline carries its NUL.</summary>
    public static byte[] Build(ReadOnlySpan<byte> kernel, ReadOnlySpan<byte> initrd, string? append)
    {
        var table = new byte[(TableLength + 15) & ~15];
        var t = table.AsSpan();
        HeaderGuid.CopyTo(t);
        BinaryPrimitives.WriteUInt16LittleEndian(t[16..], TableLength);

        var cmdline = Encoding.UTF8.GetBytes((append ?? "") + "\0");
        var offset = 18;
        offset = WriteEntry(t, offset, CmdlineGuid, SHA256.HashData(cmdline));
        offset = WriteEntry(t, offset, InitrdGuid, SHA256.HashData(initrd));
        WriteEntry(t, offset, KernelGuid, SHA256.HashData(kernel));
        return table;
    }

    /// <summary>The page QEMU measures: zeros with the table at the given offset.</summary>
    public static byte[] BuildPage(byte[] table, int offsetInPage)
    {
        if (offsetInPage + table.Length > GuestContext.PageSize)
        {
            throw new MeasureException("ovmf.sev_hash_table", $"table at page offset {offsetInPage} does not fit in the page");
        }

        var page = new byte[GuestContext.PageSize];
        table.CopyTo(page, offsetInPage);
        return page;
    }

    private static int WriteEntry(Span<byte> t, int offset, byte[] guid, byte[] hash)
    {
        guid.CopyTo(t[offset..]);
        BinaryPrimitives.WriteUInt16LittleEndian(t[(offset + 16)..], EntrySize);
        hash.CopyTo(t[(offset + 18)..]);
        return offset + EntrySize;
    }
}
