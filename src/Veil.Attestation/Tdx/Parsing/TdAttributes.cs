using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.Tdx.Parsing;

/// <summary>
/// TDATTRIBUTES (Intel TDX Module ABI spec, "TD_PARAMS.ATTRIBUTES"): bit 0 DEBUG, bit 28 SEPT_VE_DISABLE,
/// bit 29 MIGRATABLE, bit 30 PKS, bit 31 KL, bit 63 PERFMON; every other bit is reported as
/// <see cref="Other"/> (reserved, or features newer than this decoder). Decoded by name so that policies speak
/// <c>tdx.td_attributes.debug</c> rather than bit masks. Whether a value is acceptable is policy.
/// </summary>
public readonly record struct TdAttributes(ulong Raw)
{
    private const ulong Known = 1UL | (1UL << 28) | (1UL << 29) | (1UL << 30) | (1UL << 31) | (1UL << 63);

    public bool Debug => (Raw & 1) != 0;

    public bool SeptVeDisable => (Raw & (1UL << 28)) != 0;

    public bool Migratable => (Raw & (1UL << 29)) != 0;

    public bool Pks => (Raw & (1UL << 30)) != 0;

    public bool KeyLocker => (Raw & (1UL << 31)) != 0;

    public bool PerfMon => (Raw & (1UL << 63)) != 0;

    /// <summary>Bits not decoded by name here.</summary>
    public ulong Other => Raw & ~Known;

    /// <summary>As the quote stores it: 8 bytes little-endian, shown as hex.</summary>
    public string Hex()
    {
        Span<byte> b = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(b, Raw);
        return Veil.Attestation.Hex.Lower(b);
    }
}
