namespace Veil.Abi.Snp;

/// <summary>
/// Where each field of an SEV-SNP ATTESTATION_REPORT sits (SEV-SNP ABI spec #56860, "ATTESTATION_REPORT
/// Structure"; 1184 bytes, little-endian). The verifier parses with it, the guest agent checks and re-encodes
/// reports with it: one table, so the two cannot drift (they had their own copies before).
/// </summary>
public static class SnpReportLayout
{
    public const int Length = 0x4A0;

    /// <summary>Bytes 0x000–0x29F are covered by the signature.</summary>
    public const int SignedLength = 0x2A0;

    public static readonly ByteField Version = new(0x000, 4);
    public static readonly ByteField GuestSvn = new(0x004, 4);
    public static readonly ByteField Policy = new(0x008, 8);
    public static readonly ByteField FamilyId = new(0x010, 16);
    public static readonly ByteField ImageId = new(0x020, 16);
    public static readonly ByteField Vmpl = new(0x030, 4);
    public static readonly ByteField SignatureAlgorithm = new(0x034, 4);
    public static readonly ByteField CurrentTcb = new(0x038, 8);
    public static readonly ByteField PlatformInfo = new(0x040, 8);
    public static readonly ByteField SignerInfo = new(0x048, 4);
    public static readonly ByteField ReportData = new(0x050, 64);
    public static readonly ByteField Measurement = new(0x090, 48);
    public static readonly ByteField HostData = new(0x0C0, 32);
    public static readonly ByteField IdKeyDigest = new(0x0E0, 48);
    public static readonly ByteField AuthorKeyDigest = new(0x110, 48);
    public static readonly ByteField ReportId = new(0x140, 32);
    public static readonly ByteField ReportIdMa = new(0x160, 32);
    public static readonly ByteField ReportedTcb = new(0x180, 8);

    /// <summary>CPUID family, model and stepping: one byte each from report version 3 on (reserved before).</summary>
    public static readonly ByteField CpuIdFamily = new(0x188, 1);
    public static readonly ByteField CpuIdModel = new(0x189, 1);
    public static readonly ByteField CpuIdStepping = new(0x18A, 1);

    public static readonly ByteField ChipId = new(0x1A0, 64);
    public static readonly ByteField CommittedTcb = new(0x1E0, 8);

    /// <summary>CURRENT_BUILD, CURRENT_MINOR, CURRENT_MAJOR at 0x1E8–0x1EA (0x1EB reserved).</summary>
    public static readonly ByteField CurrentVersion = new(0x1E8, 3);

    /// <summary>COMMITTED_BUILD, COMMITTED_MINOR, COMMITTED_MAJOR at 0x1EC–0x1EE (0x1EF reserved).</summary>
    public static readonly ByteField CommittedVersion = new(0x1EC, 3);

    public static readonly ByteField LaunchTcb = new(0x1F0, 8);

    /// <summary>Mitigation vectors: from report version 5 on (reserved before).</summary>
    public static readonly ByteField LaunchMitVector = new(0x1F8, 8);
    public static readonly ByteField CurrentMitVector = new(0x200, 8);

    /// <summary>The signature's R and S, each an AMD 72-byte little-endian component (<see cref="AmdEcdsa"/>).</summary>
    public static readonly ByteField SignatureR = new(0x2A0, AmdEcdsa.ComponentLength);
    public static readonly ByteField SignatureS = new(0x2E8, AmdEcdsa.ComponentLength);

    /// <summary>The first report version with CPUID bytes, and the first with mitigation vectors.</summary>
    public const uint FirstVersionWithCpuId = 3;

    public const uint FirstVersionWithMitigationVectors = 5;

    /// <summary>CPUID family of Turin (Zen 5), whose TCB_VERSION layout differs (<see cref="SnpTcbLayout"/>).</summary>
    public const byte TurinFamily = 0x1A;

    /// <summary>
    /// The ranges that must be zero in a report of this version (reserved fields and signature padding), named as
    /// the verifier reports them, so that hidden data cannot ride along in a signed report.
    /// </summary>
    public static IEnumerable<(ByteField Field, string Name)> MustBeZero(uint version)
    {
        yield return (new ByteField(0x04C, 4), "report.reserved_0x04c");
        yield return version >= FirstVersionWithCpuId ? (new ByteField(0x18B, 21), "report.reserved_0x18b") : (new ByteField(0x188, 24), "report.reserved_0x188");
        yield return (new ByteField(0x1EB, 1), "report.reserved_0x1eb");
        yield return (new ByteField(0x1EF, 1), "report.reserved_0x1ef");
        if (version < FirstVersionWithMitigationVectors)
        {
            yield return (new ByteField(0x1F8, 16), "report.reserved_0x1f8");
        }

        yield return (new ByteField(0x208, 0x98), "report.reserved_0x208");
    }
}
