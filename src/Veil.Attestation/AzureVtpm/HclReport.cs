using System.Buffers.Binary;
using System.Security.Cryptography;
using Veil.Abi.AzureVtpm;

namespace Veil.Attestation.AzureVtpm;

/// <summary>The hardware report inside an HCL report (IGVM_REPORT_TYPE).</summary>
public enum HclReportType
{
    Snp = 2,
    Tdx = 4,
}

/// <summary>
/// The attestation report Azure's paravisor (HCL) leaves in the vTPM NV index 0x01400001 (layout as az-cvm-vtpm's
/// hcl module reads it; all integers little-endian):
/// <code>
/// 0x000 header { signature "HCLA", version, report_size, request_type, status, reserved[3] }   32 bytes
/// 0x020 hardware report: SNP ATTESTATION_REPORT (1184 bytes) or TDREPORT (1024 bytes, then padding)
/// 0x4C0 IGVM request data { data_size, version, report_type, report_data_hash_type, variable_data_size }
/// 0x4D4 variable data (runtime claims JSON: the AK and EK as JWKs, vm-configuration, user-data)
/// </code>
/// The hardware report's REPORT_DATA starts with the digest of the variable data: that is what ties the AK (and
/// so every TPM quote) to the hardware. Header fields are not signed, so parsing accepts only the values Azure
/// writes; bytes after the variable data are NV-index padding and are tolerated.
/// </summary>
public sealed record HclReport
{
    public const int HeaderLength = HclReportLayout.HeaderLength;
    public const int HardwareReportLength = HclReportLayout.HardwareReportLength;
    public const int RequestDataOffset = HclReportLayout.RequestDataOffset;
    public const int RequestDataHeaderLength = HclReportLayout.RequestDataHeaderLength;
    public const int VariableDataOffset = HclReportLayout.VariableDataOffset;
    public const int TdReportLength = HclReportLayout.TdReportLength;

    /// <summary>"HCLA" as a little-endian UINT32.</summary>
    public const uint Signature = HclReportLayout.Signature;

    /// <summary>The HCL's IGVM_REQUEST_TYPE for an attestation report (the only one a guest reads).</summary>
    public const uint RequestTypeAttestation = HclReportLayout.RequestTypeAttestation;

    public required ReadOnlyMemory<byte> Raw { get; init; }

    public required uint Version { get; init; }

    public required HclReportType ReportType { get; init; }

    /// <summary>sha256, sha384 or sha512 (IGVM_HASH_TYPE 1, 2, 3): the digest of the variable data in REPORT_DATA.</summary>
    public required HashAlgorithmName VariableDataHash { get; init; }

    /// <summary>The SNP report (1184 bytes) or the TD report (1024 bytes).</summary>
    public required ReadOnlyMemory<byte> HardwareReport { get; init; }

    public required ReadOnlyMemory<byte> VariableData { get; init; }

    /// <summary>Bytes after the variable data (NV-index padding).</summary>
    public required int TrailingBytes { get; init; }

    /// <summary>The digest of the variable data with the report's own hash type.</summary>
    public byte[] VariableDataDigest() => VariableDataHash.Name switch
    {
        "SHA384" => SHA384.HashData(VariableData.Span),
        "SHA512" => SHA512.HashData(VariableData.Span),
        _ => SHA256.HashData(VariableData.Span),
    };

    /// <exception cref="EvidenceFormatException">Not an HCL report Veil can read (field named).</exception>
    public static HclReport Parse(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < VariableDataOffset)
        {
            throw new EvidenceFormatException("hcl_report", $"truncated: {bytes.Length} bytes, the header, hardware report and request data alone are {VariableDataOffset}");
        }

        var signature = U32(bytes, 0);
        if (signature != Signature)
        {
            throw new EvidenceFormatException("hcl_report.signature", $"0x{signature:x8} is not \"HCLA\" (0x414c4348)");
        }

        var version = U32(bytes, 4);
        if (version is not (1 or 2))
        {
            throw new EvidenceFormatException("hcl_report.version", $"unsupported version {version} (supported: 1, 2)");
        }

        var reportSize = U32(bytes, 8);
        var requestType = U32(bytes, 12);
        if (requestType != RequestTypeAttestation)
        {
            throw new EvidenceFormatException("hcl_report.request_type", $"{requestType}, expected {RequestTypeAttestation} (attestation report)");
        }

        var status = U32(bytes, 16);
        if (status != 0)
        {
            throw new EvidenceFormatException("hcl_report.status", $"0x{status:x8}: the paravisor reported a failed request");
        }

        if (!Hex.IsZero(bytes.Slice(20, 12)))
        {
            throw new EvidenceFormatException("hcl_report.reserved", "not zero");
        }

        var dataSize = U32(bytes, RequestDataOffset);
        var dataVersion = U32(bytes, RequestDataOffset + 4);
        if (dataVersion != 1)
        {
            throw new EvidenceFormatException("hcl_report.request_data.version", $"unsupported version {dataVersion} (supported: 1)");
        }

        var type = U32(bytes, RequestDataOffset + 8) switch
        {
            2 => HclReportType.Snp,
            4 => HclReportType.Tdx,
            var t => throw new EvidenceFormatException("hcl_report.request_data.report_type", $"{t} is not an SNP (2) or TDX (4) report"),
        };
        var hash = U32(bytes, RequestDataOffset + 12) switch
        {
            1 => HashAlgorithmName.SHA256,
            2 => HashAlgorithmName.SHA384,
            3 => HashAlgorithmName.SHA512,
            var h => throw new EvidenceFormatException("hcl_report.request_data.report_data_hash_type", $"{h} is not SHA-256 (1), SHA-384 (2) or SHA-512 (3)"),
        };
        var varSize = U32(bytes, RequestDataOffset + 16);
        if (varSize > (uint)(bytes.Length - VariableDataOffset))
        {
            throw new EvidenceFormatException("hcl_report.request_data.variable_data_size", $"{varSize} bytes declared, only {bytes.Length - VariableDataOffset} present");
        }

        if (dataSize != RequestDataHeaderLength + varSize)
        {
            throw new EvidenceFormatException("hcl_report.request_data.data_size", $"{dataSize}, expected {RequestDataHeaderLength + varSize} (request data header + variable data)");
        }

        if (reportSize != RequestDataOffset + dataSize)
        {
            throw new EvidenceFormatException("hcl_report.report_size", $"{reportSize}, expected {RequestDataOffset + dataSize} (header + hardware report + request data)");
        }

        var hwLength = type == HclReportType.Snp ? HardwareReportLength : TdReportLength;
        if (type == HclReportType.Tdx && !Hex.IsZero(bytes.Slice(HeaderLength + TdReportLength, HardwareReportLength - TdReportLength)))
        {
            throw new EvidenceFormatException("hcl_report.hardware_report", "the bytes after the 1024-byte TD report are not zero");
        }

        var end = VariableDataOffset + (int)varSize;
        ReadOnlyMemory<byte> raw = bytes.ToArray();
        return new HclReport
        {
            Raw = raw,
            Version = version,
            ReportType = type,
            VariableDataHash = hash,
            HardwareReport = raw.Slice(HeaderLength, hwLength),
            VariableData = raw[VariableDataOffset..end],
            TrailingBytes = bytes.Length - end,
        };
    }

    private static uint U32(ReadOnlySpan<byte> b, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(b[offset..]);
}
