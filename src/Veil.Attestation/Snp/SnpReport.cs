using System.Buffers.Binary;
using Veil.Abi.Snp;
using L = Veil.Abi.Snp.SnpReportLayout;

namespace Veil.Attestation.Snp;

/// <summary>
/// A parsed SEV-SNP ATTESTATION_REPORT (1184 bytes; SEV-SNP ABI spec #56860, "ATTESTATION_REPORT Structure").
/// Parsing checks only the shape; whether the fields are acceptable is the verifier's and the policy's job.
/// Byte fields are slices of <see cref="Raw"/>, a private copy of the input.
/// </summary>
public sealed record SnpReport
{
    public const int Size = L.Length;

    /// <summary>Bytes 0x000–0x29F are covered by the signature.</summary>
    public const int SignedLength = L.SignedLength;

    /// <summary>Each signature component is a 72-byte little-endian field; P-384 uses the low 48 bytes.</summary>
    public const int SignatureComponentLength = AmdEcdsa.ComponentLength;

    public const int SignatureComponentSignificant = AmdEcdsa.P384Length;

    public required ReadOnlyMemory<byte> Raw { get; init; }

    public required uint Version { get; init; }

    public required uint GuestSvn { get; init; }

    public required GuestPolicy Policy { get; init; }

    public required ReadOnlyMemory<byte> FamilyId { get; init; }

    public required ReadOnlyMemory<byte> ImageId { get; init; }

    public required uint Vmpl { get; init; }

    public required uint SignatureAlgorithm { get; init; }

    public required TcbVersion CurrentTcb { get; init; }

    public required PlatformInfo PlatformInfo { get; init; }

    public required SignerInfo SignerInfo { get; init; }

    public required ReadOnlyMemory<byte> ReportData { get; init; }

    public required ReadOnlyMemory<byte> Measurement { get; init; }

    public required ReadOnlyMemory<byte> HostData { get; init; }

    public required ReadOnlyMemory<byte> IdKeyDigest { get; init; }

    public required ReadOnlyMemory<byte> AuthorKeyDigest { get; init; }

    public required ReadOnlyMemory<byte> ReportId { get; init; }

    public required ReadOnlyMemory<byte> ReportIdMa { get; init; }

    public required TcbVersion ReportedTcb { get; init; }

    /// <summary>CPUID family/model/stepping (report version 3 and later); null for version 2.</summary>
    public required CpuId? CpuId { get; init; }

    public required ReadOnlyMemory<byte> ChipId { get; init; }

    public required TcbVersion CommittedTcb { get; init; }

    public required FirmwareVersion CurrentVersion { get; init; }

    public required FirmwareVersion CommittedVersion { get; init; }

    public required TcbVersion LaunchTcb { get; init; }

    /// <summary>Mitigation vectors (report version 5 and later); null before.</summary>
    public required ulong? LaunchMitVector { get; init; }

    public required ulong? CurrentMitVector { get; init; }

    /// <summary>R as stored: 72 bytes little-endian.</summary>
    public required ReadOnlyMemory<byte> SignatureR { get; init; }

    /// <summary>S as stored: 72 bytes little-endian.</summary>
    public required ReadOnlyMemory<byte> SignatureS { get; init; }

    public ReadOnlySpan<byte> SignedBytes => Raw.Span[..SignedLength];

    /// <summary>Parses exactly 1184 bytes. Versions 2, 3, 4 (same layout as 3) and 5 are accepted.</summary>
    public static SnpReport Parse(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
        {
            throw new EvidenceFormatException("report", bytes.Length < Size
                ? $"truncated: {bytes.Length} bytes, an SEV-SNP report is {Size}"
                : $"oversized: {bytes.Length} bytes, an SEV-SNP report is {Size}");
        }

        var version = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        if (version is < 2 or > 5)
        {
            throw new EvidenceFormatException("report.version", $"unsupported version {version} (supported: 2, 3, 4, 5)");
        }

        var raw = bytes.ToArray();
        ReadOnlyMemory<byte> m = raw;
        var hasCpuId = version >= L.FirstVersionWithCpuId;
        var hasMit = version >= L.FirstVersionWithMitigationVectors;
        return new SnpReport
        {
            Raw = m,
            Version = version,
            GuestSvn = U32(bytes, L.GuestSvn),
            Policy = new GuestPolicy(U64(bytes, L.Policy)),
            FamilyId = L.FamilyId.Of(m),
            ImageId = L.ImageId.Of(m),
            Vmpl = U32(bytes, L.Vmpl),
            SignatureAlgorithm = U32(bytes, L.SignatureAlgorithm),
            CurrentTcb = TcbVersion.Read(L.CurrentTcb.Of(bytes)),
            PlatformInfo = new PlatformInfo(U64(bytes, L.PlatformInfo)),
            SignerInfo = new SignerInfo(U32(bytes, L.SignerInfo)),
            ReportData = L.ReportData.Of(m),
            Measurement = L.Measurement.Of(m),
            HostData = L.HostData.Of(m),
            IdKeyDigest = L.IdKeyDigest.Of(m),
            AuthorKeyDigest = L.AuthorKeyDigest.Of(m),
            ReportId = L.ReportId.Of(m),
            ReportIdMa = L.ReportIdMa.Of(m),
            ReportedTcb = TcbVersion.Read(L.ReportedTcb.Of(bytes)),
            CpuId = hasCpuId ? new CpuId(bytes[L.CpuIdFamily.Offset], bytes[L.CpuIdModel.Offset], bytes[L.CpuIdStepping.Offset]) : null,
            ChipId = L.ChipId.Of(m),
            CommittedTcb = TcbVersion.Read(L.CommittedTcb.Of(bytes)),
            CurrentVersion = Firmware(L.CurrentVersion.Of(bytes)),
            CommittedVersion = Firmware(L.CommittedVersion.Of(bytes)),
            LaunchTcb = TcbVersion.Read(L.LaunchTcb.Of(bytes)),
            LaunchMitVector = hasMit ? U64(bytes, L.LaunchMitVector) : null,
            CurrentMitVector = hasMit ? U64(bytes, L.CurrentMitVector) : null,
            SignatureR = L.SignatureR.Of(m),
            SignatureS = L.SignatureS.Of(m),
        };
    }

    /// <summary>
    /// Byte ranges that must be zero for this report version (reserved fields and signature padding), as
    /// (offset, length, name). Checked by the verifier so that hidden data cannot ride along in a report.
    /// </summary>
    public IEnumerable<(int Offset, int Length, string Name)> MustBeZeroRanges() =>
        L.MustBeZero(Version).Select(r => (r.Field.Offset, r.Field.Length, r.Name));

    private static uint U32(ReadOnlySpan<byte> b, Veil.Abi.ByteField f) => BinaryPrimitives.ReadUInt32LittleEndian(f.Of(b));

    private static ulong U64(ReadOnlySpan<byte> b, Veil.Abi.ByteField f) => BinaryPrimitives.ReadUInt64LittleEndian(f.Of(b));

    /// <summary>The version bytes are build, minor, major.</summary>
    private static FirmwareVersion Firmware(ReadOnlySpan<byte> three) => new(three[2], three[1], three[0]);
}

/// <summary>CPUID family (extended + base), model (extended &lt;&lt; 4 | base) and stepping, as the report carries them.</summary>
public readonly record struct CpuId(byte Family, byte Model, byte Stepping);

/// <summary>An SNP firmware version major.minor.build.</summary>
public readonly record struct FirmwareVersion(byte Major, byte Minor, byte Build)
{
    public override string ToString() => $"{Major}.{Minor}.{Build}";
}
