using System.Buffers.Binary;

namespace Veil.Abi.Snp;

/// <summary>
/// The certificate table of an extended report (GHCB spec #56421, SNP Extended Guest Request; configfs-tsm
/// <c>auxblob</c>): 24-byte entries {GUID, offset u32 LE, length u32 LE} ended by an all-zero entry, offsets from the
/// table's start.
/// </summary>
public static class SnpCertTableLayout
{
    public const int EntryLength = 24;

    public static readonly Guid Vcek = new("63da758d-e664-4564-adc5-f4b93be8accd");
    public static readonly Guid Vlek = new("a8074bc2-a25a-483e-aae6-39c045a0b8a1");
    public static readonly Guid Ask = new("4ab7b379-bbac-4fe4-a02f-05aef327c782");
    public static readonly Guid Ark = new("c0b406a4-a803-4952-9743-3fb6014cd0ae");

    /// <summary>
    /// The GUID of an entry. Its 16 bytes are in RFC 4122 order (the string's hex digits as written, 63 da 75 8d …):
    /// that is how the hosts write them (virtee's snphost through <c>Uuid::as_bytes</c>) and how go-sev-guest reads them
    /// (<c>uuid.Parse</c> compared with the raw bytes). The verifier once read them in .NET's mixed-endian order
    /// while the guest agent read them in RFC order, so a real host's VCEK would have been "unknown" to the verifier.
    /// </summary>
    public static Guid ReadGuid(ReadOnlySpan<byte> entry) => new(entry[..16], bigEndian: true);

    public static void WriteGuid(Guid id, Span<byte> entry) => id.TryWriteBytes(entry[..16], bigEndian: true, out _);

    public static uint ReadOffset(ReadOnlySpan<byte> entry) => BinaryPrimitives.ReadUInt32LittleEndian(entry[16..]);

    public static uint ReadLength(ReadOnlySpan<byte> entry) => BinaryPrimitives.ReadUInt32LittleEndian(entry[20..]);

    public static void Write(Span<byte> entry, Guid id, uint offset, uint length)
    {
        WriteGuid(id, entry);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[16..], offset);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[20..], length);
    }

    /// <summary>The name AMD and Trustee give each known GUID ("VCEK", "VLEK", "ASK", "ARK"), or null.</summary>
    public static string? Name(Guid id) =>
        id == Vcek ? "VCEK" : id == Vlek ? "VLEK" : id == Ask ? "ASK" : id == Ark ? "ARK" : null;
}
