using System.Buffers.Binary;
using Veil.Abi.Snp;

namespace Veil.Attestation.Snp;

/// <summary>
/// A TCB_VERSION (8 bytes, SEV-SNP ABI "TCB_VERSION"). The raw value is kept because the meaning of its
/// bytes depends on the processor generation, which the report alone does not always tell (v2 has no CPUID).
/// </summary>
public readonly record struct TcbVersion(ulong Raw)
{
    public static TcbVersion Read(ReadOnlySpan<byte> eight) => new(BinaryPrimitives.ReadUInt64LittleEndian(eight));

    public TcbParts Decode(TcbLayout layout)
    {
        Span<byte> b = stackalloc byte[SnpTcbLayout.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(b, Raw);
        var at = SnpTcbLayout.Of(layout);
        return new TcbParts(Fmc: at.Fmc is { } f ? b[f] : null, Bootloader: b[at.Bootloader], Tee: b[at.Tee], Snp: b[at.Snp], Microcode: b[at.Microcode]);
    }

    /// <summary>Encodes components back into the raw layout (used to rebuild reports from Trustee's JSON).</summary>
    public static TcbVersion Encode(TcbParts parts, TcbLayout layout)
    {
        Span<byte> b = stackalloc byte[SnpTcbLayout.Length];
        var at = SnpTcbLayout.Of(layout);
        if (at.Fmc is { } f)
        {
            b[f] = parts.Fmc ?? 0;
        }

        b[at.Bootloader] = parts.Bootloader;
        b[at.Tee] = parts.Tee;
        b[at.Snp] = parts.Snp;
        b[at.Microcode] = parts.Microcode;
        return new TcbVersion(BinaryPrimitives.ReadUInt64LittleEndian(b));
    }

    public override string ToString() => $"0x{Raw:x16}";
}

/// <summary>The security patch levels of one TCB_VERSION. <see cref="Fmc"/> exists from Turin on.</summary>
public readonly record struct TcbParts(byte? Fmc, byte Bootloader, byte Tee, byte Snp, byte Microcode);
