using System.Buffers.Binary;

namespace Veil.Attestation.Nvidia;

/// <summary>The SPDM 1.1 GET_MEASUREMENTS request the verifier sent (DSP0274 v1.1 §10.11), 37 bytes.</summary>
public sealed record SpdmRequest(byte Version, byte Code, byte Param1, byte Param2, ReadOnlyMemory<byte> Nonce, byte SlotId);

/// <summary>One measurement block with a DMTF measurement (index as the GPU numbers it, 1-based).</summary>
public sealed record MeasurementBlock(byte Index, byte Specification, byte ValueType, ReadOnlyMemory<byte> Value);

/// <summary>
/// An NVIDIA GPU or NVSwitch attestation report: the GET_MEASUREMENTS request (37 bytes) followed by the
/// MEASUREMENTS response, as NVML and NSCQ return it (nvtrust spdm_msrt_req_msg.py / spdm_msrt_resp_msg.py).
/// Parsing checks the shape only; <see cref="Raw"/> is a private copy and every byte field is a slice of it.
/// </summary>
public sealed record SpdmMeasurementReport
{
    public const int RequestLength = 37;
    public const int NonceLength = 32;
    public const int SignatureLength = 96;
    private const int ResponseHeaderLength = 8;

    /// <summary>More unsigned bytes than this after the signature is not padding but something else.</summary>
    private const int MaxTrailing = 64;

    public required ReadOnlyMemory<byte> Raw { get; init; }

    public required SpdmRequest Request { get; init; }

    public required byte ResponseVersion { get; init; }

    public required byte ResponseCode { get; init; }

    public required byte ResponseParam1 { get; init; }

    public required byte ResponseParam2 { get; init; }

    public required IReadOnlyList<MeasurementBlock> Blocks { get; init; }

    /// <summary>The responder's own nonce; freshness is the request nonce's job.</summary>
    public required ReadOnlyMemory<byte> ResponderNonce { get; init; }

    public required NvidiaOpaqueData OpaqueData { get; init; }

    /// <summary>ECDSA P-384 raw r‖s, big-endian.</summary>
    public required ReadOnlyMemory<byte> Signature { get; init; }

    /// <summary>Where the signature starts: everything before it is signed.</summary>
    public required int SignatureOffset { get; init; }

    /// <summary>
    /// Bytes after the signature. Real captures carry some (Trustee's CoCo CI report ends in one 0x00); they are
    /// not signed, so nothing is read from them, and the verifier reports them as a finding.
    /// </summary>
    public int TrailingLength => Raw.Length - SignatureOffset - SignatureLength;

    /// <summary>request ‖ response up to its signature: the SPDM L1/L2 transcript of this exchange.</summary>
    public ReadOnlySpan<byte> SignedBytes => Raw.Span[..SignatureOffset];

    /// <summary>The longest report the format allows: a 24-bit measurement record, 16-bit opaque data, the trailing allowance.</summary>
    private const int MaxLength = RequestLength + ResponseHeaderLength + 0xFFFFFF + NonceLength + 2 + 0xFFFF + SignatureLength + MaxTrailing;

    public static SpdmMeasurementReport Parse(ReadOnlySpan<byte> bytes) => Parse(bytes, null);

    /// <summary>Parses a buffer nobody else holds (freshly decoded text), using it as the report's bytes.</summary>
    internal static SpdmMeasurementReport ParseOwned(byte[] owned, int length) => Parse(owned.AsSpan(0, length), owned.AsMemory(0, length));

    private static SpdmMeasurementReport Parse(ReadOnlySpan<byte> bytes, ReadOnlyMemory<byte>? owned)
    {
        if (bytes.Length < RequestLength + ResponseHeaderLength)
        {
            throw new EvidenceFormatException("report", $"truncated: {bytes.Length} bytes, shorter than the SPDM request and response header ({RequestLength + ResponseHeaderLength})");
        }

        if (bytes.Length > MaxLength)
        {
            // Refused before the copy below: no valid report is this long.
            throw new EvidenceFormatException("report", $"oversized: {bytes.Length} bytes, longer than any SPDM measurement report can be ({MaxLength})");
        }

        ReadOnlyMemory<byte> m = owned ?? bytes.ToArray();
        var request = new SpdmRequest(bytes[0], bytes[1], bytes[2], bytes[3], m.Slice(4, NonceLength), bytes[36]);
        Expect(request.Version == 0x11, "request.spdm_version", $"0x{request.Version:x2} (only SPDM 1.1 is supported)");
        Expect(request.Code == 0xE0, "request.code", $"0x{request.Code:x2} is not GET_MEASUREMENTS (0xe0)");

        var r = RequestLength;
        var version = bytes[r];
        var code = bytes[r + 1];
        Expect(version == 0x11, "response.spdm_version", $"0x{version:x2} (only SPDM 1.1 is supported)");
        Expect(code == 0x60, "response.code", $"0x{code:x2} is not MEASUREMENTS (0x60)");
        var count = bytes[r + 4];
        var recordLength = bytes[r + 5] | (bytes[r + 6] << 8) | (bytes[r + 7] << 16);
        var pos = r + ResponseHeaderLength;
        Need(bytes, pos, recordLength, "response.measurement_record");
        var blocks = ParseBlocks(bytes.Slice(pos, recordLength), m.Slice(pos, recordLength), count);
        pos += recordLength;

        Need(bytes, pos, NonceLength + 2, "response.nonce");
        var responderNonce = m.Slice(pos, NonceLength);
        pos += NonceLength;
        var opaqueLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes[pos..]);
        pos += 2;
        Need(bytes, pos, opaqueLength, "response.opaque_data");
        var opaque = NvidiaOpaqueData.Parse(m.Slice(pos, opaqueLength));
        pos += opaqueLength;
        Need(bytes, pos, SignatureLength, "response.signature");
        var signatureOffset = pos;
        var signature = m.Slice(pos, SignatureLength);
        if (bytes.Length - pos - SignatureLength > MaxTrailing)
        {
            throw new EvidenceFormatException("report", $"oversized: {bytes.Length - pos - SignatureLength} bytes after the signature");
        }

        return new SpdmMeasurementReport
        {
            Raw = m,
            Request = request,
            ResponseVersion = version,
            ResponseCode = code,
            ResponseParam1 = bytes[r + 2],
            ResponseParam2 = bytes[r + 3],
            Blocks = blocks,
            ResponderNonce = responderNonce,
            OpaqueData = opaque,
            Signature = signature,
            SignatureOffset = signatureOffset,
        };
    }

    /// <summary>The block whose RIM index (0-based; the GPU's block index minus one) is <paramref name="rimIndex"/>.</summary>
    public MeasurementBlock? BlockForRimIndex(int rimIndex)
    {
        foreach (var b in Blocks)
        {
            if (b.Index == rimIndex + 1)
            {
                return b;
            }
        }

        return null;
    }

    private static MeasurementBlock[] ParseBlocks(ReadOnlySpan<byte> record, ReadOnlyMemory<byte> memory, int count)
    {
        var blocks = new MeasurementBlock[count];
        var pos = 0;
        for (var i = 0; i < count; i++)
        {
            // The field name is only needed for an error; building it per block would cost more than parsing.
            var field = new BlockField(i);
            Need(record, pos, 4, field);
            var index = record[pos];
            var spec = record[pos + 1];
            var size = BinaryPrimitives.ReadUInt16LittleEndian(record[(pos + 2)..]);
            if (spec != 1)
            {
                Expect(false, field, ".specification", $"{spec} is not DMTF (1)");
            }

            Need(record, pos + 4, size, field);
            if (size < 3)
            {
                Expect(false, field, ".size", $"{size} is too small for a DMTF measurement");
            }

            var valueType = record[pos + 4];
            var valueSize = BinaryPrimitives.ReadUInt16LittleEndian(record[(pos + 5)..]);
            if (valueSize != size - 3)
            {
                Expect(false, field, ".value_size", $"{valueSize} does not fill the block ({size - 3} bytes)");
            }
            blocks[i] = new MeasurementBlock(index, spec, valueType, memory.Slice(pos + 7, valueSize));
            pos += 4 + size;
        }

        if (pos != record.Length)
        {
            throw new EvidenceFormatException("response.measurement_record", $"{record.Length - pos} bytes left after {count} blocks");
        }

        return blocks;
    }

    private static void Need(ReadOnlySpan<byte> record, int offset, int length, BlockField field) => Need(record, offset, length, field.ToString(), check: offset + length > record.Length);

    private static void Expect(bool condition, BlockField field, string suffix, string reason)
    {
        if (!condition)
        {
            throw new EvidenceFormatException(field + suffix, reason);
        }
    }

    private static void Need(ReadOnlySpan<byte> bytes, int offset, int length, string field, bool check = true)
    {
        if (!check)
        {
            return;
        }

        if (offset + length > bytes.Length)
        {
            throw new EvidenceFormatException(field, $"truncated: needs {length} bytes at offset {offset}, {Math.Max(0, bytes.Length - offset)} left");
        }
    }

    private static void Expect(bool condition, string field, string reason)
    {
        if (!condition)
        {
            throw new EvidenceFormatException(field, reason);
        }
    }

    private readonly record struct BlockField(int Index)
    {
        public override string ToString() => $"response.measurement_block[{Index}]";
    }
}
