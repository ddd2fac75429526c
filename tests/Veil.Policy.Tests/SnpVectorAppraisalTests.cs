using System.Security.Cryptography.X509Certificates;
using Veil.Attestation;
using Veil.Attestation.Snp;
using Veil.Policy.Appraisal;
using Veil.Policy.Model;
using Veil.Tests.Shared;

namespace Veil.Policy.Tests;

/// <summary>Appraisal of the claims the SNP verifier produces for every real SNP vector (issue 6 "must show").</summary>
public class SnpVectorAppraisalTests
{
    private sealed record Case(string Name, string[] Report, string[]? Vcek, string[]? Chain, string At);

    private static readonly Case[] Cases =
    [
        new("go-sev-guest", ["go-sev-guest", "verify-testdata", "attestation.bin"], ["go-sev-guest", "verify-testdata", "vcek.testcer"], ["go-sev-guest", "verify-testdata", "milan.testcer"], "2022-09-24T01:00:00Z"),
        new("virtee", ["virtee-sev", "tests-certs_data", "report_milan.hex"], ["virtee-sev", "tests-certs_data", "vcek_milan.der"], ["virtee-sev", "tests-certs_data", "cert_chain_milan"], "2024-01-01T00:00:00Z"),
        new("ms-milan", ["TEE-Attestation-Verification", "tests-test_data", "milan_attestation_report.bin"], ["TEE-Attestation-Verification", "tests-test_data", "milan_vcek.pem"], ["TEE-Attestation-Verification", "tests-test_data", "milan_ask.pem"], "2026-03-01T00:00:00Z"),
        new("ms-genoa", ["TEE-Attestation-Verification", "tests-test_data", "genoa_attestation_report.bin"], ["TEE-Attestation-Verification", "tests-test_data", "genoa_vcek.pem"], ["TEE-Attestation-Verification", "tests-test_data", "genoa_ask.pem"], "2026-03-01T00:00:00Z"),
        new("ms-turin", ["TEE-Attestation-Verification", "tests-test_data", "turin_attestation_report.bin"], ["TEE-Attestation-Verification", "tests-test_data", "turin_vcek.pem"], ["TEE-Attestation-Verification", "tests-test_data", "turin_ask.pem"], "2026-03-01T00:00:00Z"),
        new("trustee-json", ["trustee", "attestation-service", "tests", "e2e", "evidence.json"], null, null, "2025-06-01T00:00:00Z"),
        new("trustee-vcek", ["trustee", "deps", "verifier", "test_data", "snp", "test-report.bin"], ["trustee", "deps", "verifier", "test_data", "snp", "test-vcek.der"], null, "2024-06-01T00:00:00Z"),
        new("trustee-vlek", ["trustee", "deps", "verifier", "test_data", "snp", "test-vlek-report.bin"], ["trustee", "deps", "verifier", "test_data", "snp", "test-vlek.der"], null, "2025-06-01T00:00:00Z"),
    ];

    public static TheoryData<string> Names() => new(Cases.Select(c => c.Name));

    [Theory]
    [MemberData(nameof(Names))]
    public async Task Policy_from_its_own_claims_affirms_and_one_changed_value_contraindicates_with_one_explanation(string name)
    {
        var (evidence, time) = await Verified(name);
        var text = PolicyGenerator.FromEvidence(evidence, name);
        var own = PolicyLoader.Parse(text, $"{name}.yaml");
        var ok = Appraiser.Appraise(own, evidence, time);
        Assert.True(ok.Status == EarStatus.Affirming, string.Join("; ", ok.Explanations));

        var measurement = (string)evidence.Submodules[0].Claims["snp.measurement"];
        var flipped = (measurement[0] == 'f' ? '0' : 'f') + measurement[1..];
        var changed = PolicyLoader.Parse(text.Replace($"\"{measurement}\"", $"\"{flipped}\"", StringComparison.Ordinal), $"{name}.yaml");
        var bad = Appraiser.Appraise(changed, evidence, time);
        Assert.Equal(EarStatus.Contraindicated, bad.Status);
        var e = Assert.Single(bad.Explanations);
        Assert.Equal("snp.measurement", e.Claim);
        Assert.Equal(flipped, e.Expected);
        Assert.Equal(measurement, e.Actual);
    }

    [Fact]
    public async Task Go_sev_guest_debug_report_is_contraindicated_under_strict()
    {
        var (evidence, time) = await Verified("go-sev-guest");
        var strict = DefaultPolicies.Load("strict", parameters: new Dictionary<string, string>
        {
            ["snp_min_bootloader"] = "0",
            ["snp_min_tee"] = "0",
            ["snp_min_snp"] = "0",
            ["snp_min_microcode"] = "0",
        });
        var r = Appraiser.Appraise(strict, evidence, time);
        Assert.Equal(EarStatus.Contraindicated, r.Status);
        Assert.Contains(r.Explanations, x => x.ToString() == "snp.policy.debug: expected false, actual true");
        Assert.Equal(TrustVector.Contraindicated, r.Submodules[0].TrustVector[TrustComponent.Configuration]);
    }

    [Fact]
    public async Task A_clean_genoa_report_is_affirming_under_strict_at_its_own_tcb()
    {
        var (evidence, time) = await Verified("ms-genoa");
        var c = evidence.Submodules[0].Claims;
        Assert.False((bool)c["snp.policy.debug"]);
        var strict = DefaultPolicies.Load("strict", parameters: new Dictionary<string, string>
        {
            ["snp_min_bootloader"] = c["snp.reported_tcb.bootloader"].ToString()!,
            ["snp_min_tee"] = c["snp.reported_tcb.tee"].ToString()!,
            ["snp_min_snp"] = c["snp.reported_tcb.snp"].ToString()!,
            ["snp_min_microcode"] = c["snp.reported_tcb.microcode"].ToString()!,
        });
        var r = Appraiser.Appraise(strict, evidence, time);
        Assert.True(r.Status == EarStatus.Affirming, string.Join("; ", r.Explanations));

        var higher = DefaultPolicies.Load("strict", parameters: new Dictionary<string, string>
        {
            ["snp_min_bootloader"] = c["snp.reported_tcb.bootloader"].ToString()!,
            ["snp_min_tee"] = c["snp.reported_tcb.tee"].ToString()!,
            ["snp_min_snp"] = ((long)c["snp.reported_tcb.snp"] + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["snp_min_microcode"] = c["snp.reported_tcb.microcode"].ToString()!,
        });
        Assert.Equal("snp.reported_tcb.snp", Assert.Single(Appraiser.Appraise(higher, evidence, time).Explanations).Claim);
    }

    private static async Task<(EvidenceSet Evidence, TimeProvider Time)> Verified(string name)
    {
        var c = Cases.Single(x => x.Name == name);
        X509Certificate2? leaf = c.Vcek is null ? null : Certificates.Load(Vectors.Bytes(c.Vcek), "vcek")[0];
        var chain = c.Chain is null ? [] : Certificates.Load(Vectors.Bytes(c.Chain), "chain");
        var time = new FixedTimeProvider(DateTimeOffset.Parse(c.At, System.Globalization.CultureInfo.InvariantCulture));
        var verifier = new SnpVerifier(SnpCollateralSources.Combine(SnpCollateralSources.Files(leaf, chain), SnpCollateralSources.Evidence()), time);
        var result = await verifier.VerifyAsync(Vectors.Bytes(c.Report), null);
        Assert.True(result.Verified, string.Join("; ", result.Failures));
        return (new EvidenceSet([new SubmoduleEvidence(SubmoduleKind.Cpu, "snp", result.Claims)]), time);
    }
}
