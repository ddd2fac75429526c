using System.Buffers.Binary;
using System.Text;

namespace Veil.Attestation.Nvidia;

/// <summary>One opaque-data field: NVIDIA's type number and its bytes.</summary>
public sealed record OpaqueField(ushort Type, ReadOnlyMemory<byte> Value);

/// <summary>
/// The MEASUREMENTS response's opaque data: NVIDIA-defined TLVs {type u16 LE, length u16 LE, value}
/// (nvtrust attestation/opaque_data.py; type numbers in docs/research/evidence-formats.md §A3.2). Typed accessors
/// decode the fields the verifier and the claims use; every field stays available raw.
/// </summary>
public sealed record NvidiaOpaqueData
{
    public const ushort DriverVersionType = 3;
    public const ushort VbiosVersionType = 6;
    public const ushort NvdecStatusType = 11;
    public const ushort MeasurementCountType = 12;
    public const ushort ChipSkuType = 15;
    public const ushort ProjectType = 17;
    public const ushort ProjectSkuType = 18;
    public const ushort FwidType = 20;
    public const ushort ProtectedPcieStatusType = 21;
    public const ushort OpaqueDataVersionType = 34;
    public const ushort ChipInfoType = 35;
    public const ushort FeatureFlagType = 36;

    /// <summary>Status bytes NVIDIA uses for "enabled" and "disabled" (NVDEC0, protected PCIe).</summary>
    public const byte Enabled = 0xAA;
    public const byte Disabled = 0x55;

    public static NvidiaOpaqueData Parse(ReadOnlyMemory<byte> data)
    {
        var span = data.Span;
        var fields = new List<OpaqueField>();
        var pos = 0;
        while (pos < span.Length)
        {
            if (span.Length - pos < 4)
            {
                throw new EvidenceFormatException("response.opaque_data", $"truncated field header at offset {pos}");
            }

            var type = BinaryPrimitives.ReadUInt16LittleEndian(span[pos..]);
            var length = BinaryPrimitives.ReadUInt16LittleEndian(span[(pos + 2)..]);
            if (span.Length - pos - 4 < length)
            {
                throw new EvidenceFormatException($"response.opaque_data.type_{type}", $"truncated: declares {length} bytes, {span.Length - pos - 4} left");
            }

            fields.Add(new OpaqueField(type, data.Slice(pos + 4, length)));
            pos += 4 + length;
        }

        // Decoded now so that a malformed field is a parse error, not a surprise later.
        var d = new NvidiaOpaqueData { Fields = fields };
        return d with
        {
            DriverVersion = d.Text(DriverVersionType),
            Project = d.Text(ProjectType),
            ProjectSku = d.Text(ProjectSkuType),
            ChipSku = d.Text(ChipSkuType),
            ChipInfo = d.Text(ChipInfoType),
            OpaqueDataVersion = d.Number(OpaqueDataVersionType),
            FeatureFlag = d.Number(FeatureFlagType),
            VbiosVersion = d.FormatVbios(),
        };
    }

    public required IReadOnlyList<OpaqueField> Fields { get; init; }

    public ReadOnlyMemory<byte>? Get(ushort type)
    {
        foreach (var f in Fields)
        {
            if (f.Type == type)
            {
                return f.Value;
            }
        }

        return null;
    }

    public string? DriverVersion { get; private init; }

    public string? Project { get; private init; }

    public string? ProjectSku { get; private init; }

    public string? ChipSku { get; private init; }

    /// <summary>Blackwell and later name the chip ("GB100").</summary>
    public string? ChipInfo { get; private init; }

    public ReadOnlyMemory<byte>? Fwid => Get(FwidType);

    public byte? NvdecStatus => Get(NvdecStatusType) is { Length: > 0 } v ? v.Span[0] : null;

    public byte? ProtectedPcieStatus => Get(ProtectedPcieStatusType) is { Length: > 0 } v ? v.Span[0] : null;

    public uint? OpaqueDataVersion { get; private init; }

    /// <summary>0 single-GPU passthrough, 1 multi-GPU passthrough, 2 protected PCIe (attestation-sdk opaque_data.h).</summary>
    public uint? FeatureFlag { get; private init; }

    /// <summary>
    /// VBIOS version as NVIDIA prints it: the 8-byte field read as a little-endian u64, its low 32 bits as four
    /// hex pairs, then the low byte of the high half (nvtrust utils.format_vbios_version): 96.00.9F.00.01.
    /// </summary>
    public string? VbiosVersion { get; private init; }

    private string? FormatVbios()
    {
        switch (Get(VbiosVersionType))
        {
            case null:
                return null;
            case { Length: 8 } v:
                var value = BinaryPrimitives.ReadUInt64LittleEndian(v.Span);
                var low = (uint)value;
                var high = (byte)(value >> 32);
                return $"{low >> 24:X2}.{(low >> 16) & 0xFF:X2}.{(low >> 8) & 0xFF:X2}.{low & 0xFF:X2}.{high:X2}";
            default:
                // NVSwitch reports carry the BIOS version as text ("96.10.55.00.01").
                return Text(VbiosVersionType)!.ToUpperInvariant();
        }
    }

    private string? Text(ushort type)
    {
        if (Get(type) is not { } v)
        {
            return null;
        }

        var span = v.Span;
        var end = span.IndexOf((byte)0);
        var text = span[..(end < 0 ? span.Length : end)];
        foreach (var c in text)
        {
            if (c is < 0x20 or > 0x7E)
            {
                throw new EvidenceFormatException($"response.opaque_data.type_{type}", "not printable ASCII");
            }
        }

        return Encoding.ASCII.GetString(text);
    }

    private uint? Number(ushort type) => Get(type) switch
    {
        null => null,
        { Length: 1 } v => v.Span[0],
        { Length: 2 } v => BinaryPrimitives.ReadUInt16LittleEndian(v.Span),
        { Length: 4 } v => BinaryPrimitives.ReadUInt32LittleEndian(v.Span),
        { } v => throw new EvidenceFormatException($"response.opaque_data.type_{type}", $"a number of {v.Length} bytes"),
    };
}
