using System.Buffers.Binary;

namespace Veil.Attestation.Tdx;

/// <summary>
/// The TD quote body: a TDREPORT's TDINFO and TEE_TCB_INFO fields (584 bytes for TDX 1.0, 648 for TDX 1.5,
/// which adds TEE_TCB_SVN2 and MRSERVICETD). Slices of the quote's private copy.
/// </summary>
public sealed record TdxQuoteBody
{
    public const int TypeTdx10 = Veil.Abi.Tdx.TdxQuoteLayout.BodyTypeTdx10;
    public const int TypeTdx15 = Veil.Abi.Tdx.TdxQuoteLayout.BodyTypeTdx15;
    public const int LengthTdx10 = Veil.Abi.Tdx.TdxQuoteLayout.BodyLengthTdx10;
    public const int LengthTdx15 = Veil.Abi.Tdx.TdxQuoteLayout.BodyLengthTdx15;

    /// <summary>2 = TDX 1.0 (584 bytes), 3 = TDX 1.5 (648 bytes).</summary>
    public required int BodyType { get; init; }

    /// <summary>[0] = TDX module SVN, [1] = module major version, [2..] = further TDX TCB components.</summary>
    public required ReadOnlyMemory<byte> TeeTcbSvn { get; init; }

    public required ReadOnlyMemory<byte> MrSeam { get; init; }

    public required ReadOnlyMemory<byte> MrSignerSeam { get; init; }

    public required ReadOnlyMemory<byte> SeamAttributes { get; init; }

    public required TdAttributes TdAttributes { get; init; }

    public required ulong Xfam { get; init; }

    public required ReadOnlyMemory<byte> MrTd { get; init; }

    public required ReadOnlyMemory<byte> MrConfigId { get; init; }

    public required ReadOnlyMemory<byte> MrOwner { get; init; }

    public required ReadOnlyMemory<byte> MrOwnerConfig { get; init; }

    /// <summary>RTMR0..RTMR3, 48 bytes each.</summary>
    public required IReadOnlyList<ReadOnlyMemory<byte>> Rtmrs { get; init; }

    public required ReadOnlyMemory<byte> ReportData { get; init; }

    /// <summary>TDX 1.5 bodies only.</summary>
    public required ReadOnlyMemory<byte>? TeeTcbSvn2 { get; init; }

    /// <summary>TDX 1.5 bodies only.</summary>
    public required ReadOnlyMemory<byte>? MrServiceTd { get; init; }

    internal static TdxQuoteBody Read(ReadOnlyMemory<byte> m, int type)
    {
        var b = m.Span;
        var is15 = type == TypeTdx15;
        return new TdxQuoteBody
        {
            BodyType = type,
            TeeTcbSvn = m[..16],
            MrSeam = m.Slice(16, 48),
            MrSignerSeam = m.Slice(64, 48),
            SeamAttributes = m.Slice(112, 8),
            TdAttributes = new TdAttributes(BinaryPrimitives.ReadUInt64LittleEndian(b[120..])),
            Xfam = BinaryPrimitives.ReadUInt64LittleEndian(b[128..]),
            MrTd = m.Slice(136, 48),
            MrConfigId = m.Slice(184, 48),
            MrOwner = m.Slice(232, 48),
            MrOwnerConfig = m.Slice(280, 48),
            Rtmrs = [m.Slice(328, 48), m.Slice(376, 48), m.Slice(424, 48), m.Slice(472, 48)],
            ReportData = m.Slice(520, 64),
            // Typed nulls: a bare null would become an empty ReadOnlyMemory through its implicit conversion from byte[].
            TeeTcbSvn2 = is15 ? m.Slice(584, 16) : (ReadOnlyMemory<byte>?)null,
            MrServiceTd = is15 ? m.Slice(600, 48) : (ReadOnlyMemory<byte>?)null,
        };
    }
}

/// <summary>
/// The 384-byte SGX REPORT body of the Quoting Enclave (Intel SDM "REPORTBODY"): what Intel's QE Identity
/// describes, and whose REPORTDATA binds the attestation key.
/// </summary>
public sealed record QeReport
{
    public const int Length = 384;

    public required ReadOnlyMemory<byte> Raw { get; init; }

    public required ReadOnlyMemory<byte> CpuSvn { get; init; }

    public required uint MiscSelect { get; init; }

    public required ReadOnlyMemory<byte> Attributes { get; init; }

    public required ReadOnlyMemory<byte> MrEnclave { get; init; }

    public required ReadOnlyMemory<byte> MrSigner { get; init; }

    public required ushort IsvProdId { get; init; }

    public required ushort IsvSvn { get; init; }

    public required ReadOnlyMemory<byte> ReportData { get; init; }

    internal static QeReport Read(ReadOnlyMemory<byte> m)
    {
        var b = m.Span;
        return new QeReport
        {
            Raw = m,
            CpuSvn = m[..16],
            MiscSelect = BinaryPrimitives.ReadUInt32LittleEndian(b[16..]),
            Attributes = m.Slice(48, 16),
            MrEnclave = m.Slice(64, 32),
            MrSigner = m.Slice(128, 32),
            IsvProdId = BinaryPrimitives.ReadUInt16LittleEndian(b[256..]),
            IsvSvn = BinaryPrimitives.ReadUInt16LittleEndian(b[258..]),
            ReportData = m.Slice(320, 64),
        };
    }
}
