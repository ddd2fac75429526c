namespace Veil.Abi.Tdx;

/// <summary>
/// Fixed facts of an Intel DCAP quote for TDX, versions 4 and 5 (Intel TDX DCAP Quote Generation Library and Quote
/// Verification Library API, "Quote Format"): the 48-byte header, the v5 body descriptor, and where REPORTDATA sits in
/// the TD quote body. The verifier parses with them and the guest agent checks a fresh quote with them.
/// </summary>
public static class TdxQuoteLayout
{
    public const int HeaderLength = 48;

    public static readonly ByteField Version = new(0, 2);
    public static readonly ByteField AttestationKeyType = new(2, 2);
    public static readonly ByteField TeeType = new(4, 4);

    public const uint TeeTypeTdx = 0x81;

    /// <summary>v5 puts {body type u16, body size u32} between the header and the body.</summary>
    public const int V5BodyDescriptorLength = 6;

    public const int BodyTypeTdx10 = 2;
    public const int BodyTypeTdx15 = 3;
    public const int BodyLengthTdx10 = 584;
    public const int BodyLengthTdx15 = 648;

    /// <summary>REPORTDATA within the TD quote body: the same place in TDX 1.0 and 1.5 bodies.</summary>
    public static readonly ByteField ReportDataInBody = new(520, 64);

    /// <summary>Where the body starts for a quote of this version (4: after the header; 5: after the descriptor too).</summary>
    public static int BodyOffset(int version) => version >= 5 ? HeaderLength + V5BodyDescriptorLength : HeaderLength;
}
