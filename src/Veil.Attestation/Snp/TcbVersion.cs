using System.Buffers.Binary;

namespace Veil.Attestation.Snp;

/// <summary>Byte layout of a TCB_VERSION: Milan and Genoa share one, Turin added FMC and moved the fields.</summary>
public enum TcbLayout
{
    /// <summary>byte0 boot loader, byte1 TEE, bytes2–5 reserved, byte6 SNP, byte7 microcode.</summary>
    MilanGenoa,

    /// <summary>byte0 FMC, byte1 boot loader, byte2 TEE, byte3 SNP, bytes4–6 reserved, byte7 microcode.</summary>
    Turin,
}

/// <summary>
/// A TCB_VERSION (8 bytes, SEV-SNP ABI "TCB_VERSION"). The raw value is kept because the meaning of its
/// bytes depends on the processor generation, which the report alone does not always tell (v2 has no CPUID).
/// </summary>
public readonly record struct TcbVersion(ulong Raw)
{
    public static TcbVersion Read(ReadOnlySpan<byte> eight) => new(BinaryPrimitives.ReadUInt64LittleEndian(eight));

    public TcbParts Decode(TcbLayout layout)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, Raw);
        return layout == TcbLayout.Turin
            ? new TcbParts(Fmc: b[0], Bootloader: b[1], Tee: b[2], Snp: b[3], Microcode: b[7])
            : new TcbParts(Fmc: null, Bootloader: b[0], Tee: b[1], Snp: b[6], Microcode: b[7]);
    }

    /// <summary>Encodes components back into the raw layout (used to rebuild reports from Trustee's JSON).</summary>
    public static TcbVersion Encode(TcbParts parts, TcbLayout layout)
    {
        Span<byte> b = stackalloc byte[8];
        if (layout == TcbLayout.Turin)
        {
            b[0] = parts.Fmc ?? 0;
            b[1] = parts.Bootloader;
            b[2] = parts.Tee;
            b[3] = parts.Snp;
        }
        else
        {
            b[0] = parts.Bootloader;
            b[1] = parts.Tee;
            b[6] = parts.Snp;
        }

        b[7] = parts.Microcode;
        return new TcbVersion(BinaryPrimitives.ReadUInt64LittleEndian(b));
    }

    public override string ToString() => $"0x{Raw:x16}";
}

/// <summary>The security patch levels of one TCB_VERSION. <see cref="Fmc"/> exists from Turin on.</summary>
public readonly record struct TcbParts(byte? Fmc, byte Bootloader, byte Tee, byte Snp, byte Microcode);
