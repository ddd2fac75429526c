using Veil.Policy.Appraisal;
using Veil.Policy.Model;

namespace Veil.Policy.Tests;

/// <summary>Claim sets in the shape the verifiers produce (names and value types of Veil.Attestation).</summary>
internal static class TestClaims
{
    public static readonly Dictionary<string, string> StrictParameters = new()
    {
        ["snp_min_bootloader"] = "3",
        ["snp_min_tee"] = "0",
        ["snp_min_snp"] = "8",
        ["snp_min_microcode"] = "115",
    };

    public static Dictionary<string, object> Snp(bool debug = false) => new(StringComparer.Ordinal)
    {
        ["snp.version"] = 3L,
        ["snp.policy.debug"] = debug,
        ["snp.policy.migrate_ma"] = false,
        ["snp.policy.smt"] = true,
        ["snp.vmpl"] = 0L,
        ["snp.measurement"] = "803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977",
        ["snp.host_data"] = new string('0', 64),
        ["snp.report_data"] = new string('1', 128),
        ["snp.reported_tcb"] = "0300000000000873",
        ["snp.reported_tcb.bootloader"] = 3L,
        ["snp.reported_tcb.tee"] = 0L,
        ["snp.reported_tcb.snp"] = 8L,
        ["snp.reported_tcb.microcode"] = 115L,
        ["snp.product"] = "Milan",
        ["snp.signer"] = "vcek",
        ["snp.platform_info.smt_enabled"] = true,
    };

    public static Dictionary<string, object> Gpu(int i, bool cc = true, bool ppcie = true, bool match = true) => new(StringComparer.Ordinal)
    {
        ["nvidia.arch"] = "HOPPER",
        ["nvidia.driver_version"] = "550.90.07",
        ["nvidia.vbios_version"] = "96.00.9F.00.01",
        ["nvidia.nonce"] = new string('a', 64),
        ["nvidia.cc_mode"] = cc,
        ["nvidia.ppcie_mode"] = ppcie,
        ["nvidia.measurements_match"] = match,
        ["nvidia.mismatched_indices"] = match ? new List<string>() : new List<string> { "9" },
        ["nvidia.device_id"] = $"device-{i}",
    };

    public static EvidenceSet SnpWithGpus(int gpus, int switches = 0, bool debug = false) => new(
    [
        new SubmoduleEvidence(SubmoduleKind.Cpu, "snp", Snp(debug)),
        .. Enumerable.Range(0, gpus).Select(i => new SubmoduleEvidence(SubmoduleKind.Gpu, "nvidia", Gpu(i))),
        .. Enumerable.Range(0, switches).Select(i => new SubmoduleEvidence(SubmoduleKind.Switch, "nvidia", Gpu(100 + i))),
    ]);

    public static readonly TimeProvider Now = new FixedTime(new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero));

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
