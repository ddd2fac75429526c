using System.Buffers.Binary;

namespace Veil.Attestation.Tdx;

/// <summary>
/// A parsed Intel TDX DCAP quote, version 4 (TDX 1.0 body) or 5 (TDX 1.0 or 1.5 body), with ECDSA P-256
/// signature data (Intel "TDX DCAP Quoting Library API", quote format appendix; sgx_quote_4.h / sgx_quote_5.h).
/// Parsing checks the shape and every length; whether the values are acceptable is the verifier's job.
/// Bytes after the signature data (real quotes carry padding) are tolerated and counted.
/// Byte fields are slices of <see cref="Raw"/>, a private copy of the input.
/// </summary>
public sealed record TdxQuote
{
    public const int HeaderLength = Veil.Abi.Tdx.TdxQuoteLayout.HeaderLength;
    public const uint TeeTypeTdx = Veil.Abi.Tdx.TdxQuoteLayout.TeeTypeTdx;
    public const ushort AttestationKeyEcdsaP256 = 2;
    public const ushort CertificationDataQeReport = 6;
    public const ushort CertificationDataPckChain = 5;

    /// <summary>The quote without any trailing bytes.</summary>
    public required ReadOnlyMemory<byte> Raw { get; init; }

    public required ushort Version { get; init; }

    public required ushort AttestationKeyType { get; init; }

    public required uint TeeType { get; init; }

    public required ReadOnlyMemory<byte> QeVendorId { get; init; }

    public required ReadOnlyMemory<byte> UserData { get; init; }

    public required TdxQuoteBody Body { get; init; }

    /// <summary>Header and body (and, in v5, the body's type and size): what the attestation key signed.</summary>
    public required int SignedLength { get; init; }

    /// <summary>r‖s, 32 bytes each, big-endian.</summary>
    public required ReadOnlyMemory<byte> Signature { get; init; }

    /// <summary>The attestation public key as x‖y (32 bytes each, big-endian).</summary>
    public required ReadOnlyMemory<byte> AttestationKey { get; init; }

    public required QeReport QeReport { get; init; }

    /// <summary>r‖s of the PCK key's signature over the 384-byte QE report.</summary>
    public required ReadOnlyMemory<byte> QeReportSignature { get; init; }

    public required ReadOnlyMemory<byte> QeAuthData { get; init; }

    /// <summary>The PEM PCK certificate chain (leaf, PCK CA, root) exactly as carried (may end with NUL).</summary>
    public required ReadOnlyMemory<byte> PckChain { get; init; }

    /// <summary>Bytes after the signature data, ignored.</summary>
    public required int TrailingBytes { get; init; }

    public ReadOnlySpan<byte> SignedBytes => Raw.Span[..SignedLength];

    public static TdxQuote Parse(ReadOnlySpan<byte> bytes) => Parse(bytes, null);

    /// <summary>Parses a buffer nobody else holds (a freshly decoded input), using it as the private copy.</summary>
    internal static TdxQuote ParseOwned(byte[] bytes) => Parse(bytes, bytes);

    /// <summary>As <see cref="ParseOwned(byte[])"/>, for a buffer whose first <paramref name="length"/> bytes are the input.</summary>
    internal static TdxQuote ParseOwned(byte[] bytes, int length) => Parse(bytes.AsSpan(0, length), bytes);

    private static TdxQuote Parse(ReadOnlySpan<byte> bytes, byte[]? owned)
    {
        if (bytes.Length < HeaderLength)
        {
            throw new EvidenceFormatException("quote", $"truncated: {bytes.Length} bytes, the quote header alone is {HeaderLength}");
        }

        var version = BinaryPrimitives.ReadUInt16LittleEndian(bytes);
        if (version is not (4 or 5))
        {
            throw new EvidenceFormatException("quote.version", $"unsupported version {version} (supported TDX quote versions: 4, 5)");
        }

        var teeType = BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]);
        if (teeType != TeeTypeTdx)
        {
            throw new EvidenceFormatException("quote.tee_type", $"0x{teeType:x8} is not TDX (0x00000081)");
        }

        int bodyOffset, bodyType;
        if (version == 4)
        {
            (bodyOffset, bodyType) = (HeaderLength, TdxQuoteBody.TypeTdx10);
        }
        else
        {
            Need(bytes, HeaderLength + 6, "quote.body_descriptor");
            bodyType = BinaryPrimitives.ReadUInt16LittleEndian(bytes[HeaderLength..]);
            var size = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(HeaderLength + 2)..]);
            var expected = bodyType switch
            {
                TdxQuoteBody.TypeTdx10 => TdxQuoteBody.LengthTdx10,
                TdxQuoteBody.TypeTdx15 => TdxQuoteBody.LengthTdx15,
                _ => throw new EvidenceFormatException("quote.body_type", $"type {bodyType} is not a TD report (2 = TDX 1.0, 3 = TDX 1.5)"),
            };
            if (size != expected)
            {
                throw new EvidenceFormatException("quote.body_size", $"{size} bytes, a type-{bodyType} body is {expected}");
            }

            bodyOffset = HeaderLength + 6;
        }

        var bodyLength = bodyType == TdxQuoteBody.TypeTdx15 ? TdxQuoteBody.LengthTdx15 : TdxQuoteBody.LengthTdx10;
        var signedLength = bodyOffset + bodyLength;
        Need(bytes, signedLength + 4, "quote.body");
        var sigLength = BinaryPrimitives.ReadUInt32LittleEndian(bytes[signedLength..]);
        var sigStart = signedLength + 4;
        if (sigLength > (uint)(bytes.Length - sigStart))
        {
            throw new EvidenceFormatException("quote.signature_data_len", $"{sigLength} bytes declared, only {bytes.Length - sigStart} present");
        }

        var end = sigStart + (int)sigLength;
        var raw = owned ?? bytes[..end].ToArray();
        ReadOnlyMemory<byte> m = raw.AsMemory(0, end);
        var sig = SignatureData(raw.AsSpan(sigStart, (int)sigLength), sigStart);
        return new TdxQuote
        {
            Raw = m,
            Version = version,
            AttestationKeyType = BinaryPrimitives.ReadUInt16LittleEndian(bytes[2..]),
            TeeType = teeType,
            QeVendorId = m.Slice(12, 16),
            UserData = m.Slice(28, 20),
            Body = TdxQuoteBody.Read(m.Slice(bodyOffset, bodyLength), bodyType),
            SignedLength = signedLength,
            Signature = m.Slice(sigStart, 64),
            AttestationKey = m.Slice(sigStart + 64, 64),
            QeReport = QeReport.Read(m.Slice(sig.QeReport, QeReport.Length)),
            QeReportSignature = m.Slice(sig.QeReport + QeReport.Length, 64),
            QeAuthData = m.Slice(sig.AuthData, sig.AuthLength),
            PckChain = m.Slice(sig.Chain, sig.ChainLength),
            TrailingBytes = bytes.Length - end,
        };
    }

    private readonly record struct SigLayout(int QeReport, int AuthData, int AuthLength, int Chain, int ChainLength);

    /// <summary>
    /// Signature data: sig(64) ‖ att key(64) ‖ cert type 6 ‖ size ‖ [QE report(384) ‖ QE sig(64) ‖ auth len ‖ auth
    /// ‖ cert type 5 ‖ size ‖ PEM chain]. Every declared length must match what follows exactly, as Intel's QVL
    /// requires, so no unsigned bytes can hide between the parts.
    /// </summary>
    private static SigLayout SignatureData(ReadOnlySpan<byte> s, int baseOffset)
    {
        Need(s, 134, "quote.signature_data");
        var type = BinaryPrimitives.ReadUInt16LittleEndian(s[128..]);
        if (type != CertificationDataQeReport)
        {
            throw new EvidenceFormatException("quote.certification_data.type", $"{type}, expected {CertificationDataQeReport} (QE report certification data)");
        }

        var size = BinaryPrimitives.ReadUInt32LittleEndian(s[130..]);
        if (size != (uint)(s.Length - 134))
        {
            throw new EvidenceFormatException("quote.certification_data.size", $"0x{size:x} declared, the signature data leaves 0x{s.Length - 134:x}");
        }

        var c = s[134..];
        Need(c, QeReport.Length + 64 + 2, "quote.qe_report_certification_data");
        var authLength = BinaryPrimitives.ReadUInt16LittleEndian(c[(QeReport.Length + 64)..]);
        var authStart = QeReport.Length + 64 + 2;
        Need(c, authStart + authLength + 6, "quote.qe_auth_data");
        var innerType = BinaryPrimitives.ReadUInt16LittleEndian(c[(authStart + authLength)..]);
        if (innerType != CertificationDataPckChain)
        {
            throw new EvidenceFormatException("quote.pck_certification_data.type", $"{innerType}, expected {CertificationDataPckChain} (PEM PCK certificate chain)");
        }

        var chainSize = BinaryPrimitives.ReadUInt32LittleEndian(c[(authStart + authLength + 2)..]);
        var chainStart = authStart + authLength + 6;
        if (chainSize != (uint)(c.Length - chainStart))
        {
            throw new EvidenceFormatException("quote.pck_certification_data.size", $"0x{chainSize:x} declared, the certification data leaves 0x{c.Length - chainStart:x}");
        }

        var qe = baseOffset + 134;
        return new SigLayout(qe, qe + authStart, authLength, qe + chainStart, (int)chainSize);
    }

    private static void Need(ReadOnlySpan<byte> b, int length, string field)
    {
        if (b.Length < length)
        {
            throw new EvidenceFormatException(field, $"truncated: {b.Length} bytes, at least {length} needed");
        }
    }
}
