using System.Buffers.Binary;

namespace Veil.Attestation.Snp;

/// <summary>
/// A parsed SEV-SNP ATTESTATION_REPORT (1184 bytes; SEV-SNP ABI spec #56860, "ATTESTATION_REPORT Structure").
/// Parsing checks only the shape; whether the fields are acceptable is the verifier's and the policy's job.
/// Byte fields are slices of <see cref="Raw"/>, a private copy of the input.
/// </summary>
public sealed record SnpReport
{
    public const int Size = 0x4A0;

    /// <summary>Bytes 0x000–0x29F are covered by the signature.</summary>
    public const int SignedLength = 0x2A0;

    /// <summary>Each signature component is a 72-byte little-endian field; P-384 uses the low 48 bytes.</summary>
    public const int SignatureComponentLength = 72;

    public const int SignatureComponentSignificant = 48;

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
        var hasCpuId = version >= 3;
        var hasMit = version >= 5;
        return new SnpReport
        {
            Raw = m,
            Version = version,
            GuestSvn = U32(bytes, 0x004),
            Policy = new GuestPolicy(U64(bytes, 0x008)),
            FamilyId = m.Slice(0x010, 16),
            ImageId = m.Slice(0x020, 16),
            Vmpl = U32(bytes, 0x030),
            SignatureAlgorithm = U32(bytes, 0x034),
            CurrentTcb = TcbVersion.Read(bytes[0x038..]),
            PlatformInfo = new PlatformInfo(U64(bytes, 0x040)),
            SignerInfo = new SignerInfo(U32(bytes, 0x048)),
            ReportData = m.Slice(0x050, 64),
            Measurement = m.Slice(0x090, 48),
            HostData = m.Slice(0x0C0, 32),
            IdKeyDigest = m.Slice(0x0E0, 48),
            AuthorKeyDigest = m.Slice(0x110, 48),
            ReportId = m.Slice(0x140, 32),
            ReportIdMa = m.Slice(0x160, 32),
            ReportedTcb = TcbVersion.Read(bytes[0x180..]),
            CpuId = hasCpuId ? new CpuId(bytes[0x188], bytes[0x189], bytes[0x18A]) : null,
            ChipId = m.Slice(0x1A0, 64),
            CommittedTcb = TcbVersion.Read(bytes[0x1E0..]),
            CurrentVersion = new FirmwareVersion(bytes[0x1EA], bytes[0x1E9], bytes[0x1E8]),
            CommittedVersion = new FirmwareVersion(bytes[0x1EE], bytes[0x1ED], bytes[0x1EC]),
            LaunchTcb = TcbVersion.Read(bytes[0x1F0..]),
            LaunchMitVector = hasMit ? U64(bytes, 0x1F8) : null,
            CurrentMitVector = hasMit ? U64(bytes, 0x200) : null,
            SignatureR = m.Slice(0x2A0, SignatureComponentLength),
            SignatureS = m.Slice(0x2E8, SignatureComponentLength),
        };
    }

    /// <summary>
    /// Byte ranges that must be zero for this report version (reserved fields and signature padding), as
    /// (offset, length, name). Checked by the verifier so that hidden data cannot ride along in a report.
    /// </summary>
    public IEnumerable<(int Offset, int Length, string Name)> MustBeZeroRanges()
    {
        yield return (0x04C, 4, "report.reserved_0x04c");
        yield return Version >= 3 ? (0x18B, 21, "report.reserved_0x18b") : (0x188, 24, "report.reserved_0x188");
        yield return (0x1EB, 1, "report.reserved_0x1eb");
        yield return (0x1EF, 1, "report.reserved_0x1ef");
        if (Version < 5)
        {
            yield return (0x1F8, 16, "report.reserved_0x1f8");
        }

        yield return (0x208, 0x98, "report.reserved_0x208");
    }

    private static uint U32(ReadOnlySpan<byte> b, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(b[offset..]);

    private static ulong U64(ReadOnlySpan<byte> b, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(b[offset..]);
}

/// <summary>CPUID family (extended + base), model (extended &lt;&lt; 4 | base) and stepping, as the report carries them.</summary>
public readonly record struct CpuId(byte Family, byte Model, byte Stepping);

/// <summary>An SNP firmware version major.minor.build.</summary>
public readonly record struct FirmwareVersion(byte Major, byte Minor, byte Build)
{
    public override string ToString() => $"{Major}.{Minor}.{Build}";
}
