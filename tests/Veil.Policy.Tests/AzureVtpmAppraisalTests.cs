using System.Globalization;
using Veil.Attestation;
using Veil.Attestation.AzureVtpm;
using Veil.Attestation.Snp;
using Veil.Policy.Appraisal;
using Veil.Policy.Model;
using Veil.Tests.Shared;

namespace Veil.Policy.Tests;

/// <summary>
/// The shipped strict policy on real Azure SEV-SNP vTPM claims (Trustee's evidence-v2.json): the snp-* rules apply to
/// the SNP report inside, the az-* rules to the HCL report; init-data binds through PCR 8.
/// </summary>
public class AzureVtpmAppraisalTests
{
    private static async Task<IReadOnlyDictionary<string, object>> V2Claims()
    {
        var verifier = new AzSnpVtpmVerifier(SnpCollateralSources.Evidence(), new FixedTimeProvider(DateTimeOffset.Parse("2026-03-01T00:00:00Z", CultureInfo.InvariantCulture)));
        var evidence = Vectors.Bytes("trustee", "deps", "verifier", "test_data", "az-snp-vtpm", "evidence-v2.json");
        var result = await verifier.VerifyAsync(evidence, Convert.FromHexString("982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef"));
        Assert.True(result.Verified, string.Join("; ", result.Failures));
        return result.Claims;
    }

    /// <summary>Strict with the vector's own reported TCB as the operator's minimums.</summary>
    private static AttestationPolicy Strict(IReadOnlyDictionary<string, object> c) => DefaultPolicies.Load("strict", parameters: new Dictionary<string, string>
    {
        ["snp_min_bootloader"] = c["snp.reported_tcb.bootloader"].ToString()!,
        ["snp_min_tee"] = c["snp.reported_tcb.tee"].ToString()!,
        ["snp_min_snp"] = c["snp.reported_tcb.snp"].ToString()!,
        ["snp_min_microcode"] = c["snp.reported_tcb.microcode"].ToString()!,
    });

    private static AppraisalResult Appraise(IReadOnlyDictionary<string, object> claims, AttestationPolicy? policy = null) =>
        Appraiser.Appraise(policy ?? Strict(claims), new EvidenceSet([new SubmoduleEvidence(SubmoduleKind.Cpu, "az-snp-vtpm", claims)]), TimeProvider.System);

    [Fact]
    public async Task Strict_affirms_the_real_azure_vector()
    {
        var result = Appraise(await V2Claims());
        Assert.True(result.IsAffirming, string.Join("; ", result.Explanations));
    }

    [Theory]
    [InlineData("snp.policy.debug", true, "snp-no-debug")]
    [InlineData("snp.vmpl", 1L, "snp-vmpl0")]
    [InlineData("az.vm_configuration.secure_boot", false, "az-secure-boot")]
    [InlineData("az.vm_configuration.tpm_enabled", false, "az-tpm-enabled")]
    public async Task Snp_and_az_rules_both_apply_to_azure_evidence(string claim, object value, string rule)
    {
        var claims = new Dictionary<string, object>(await V2Claims()) { [claim] = value };
        var result = Appraise(claims, Strict(await V2Claims()));
        Assert.Equal(EarStatus.Contraindicated, result.Status);
        Assert.Equal(rule, Assert.Single(result.Explanations).Rule);
    }

    [Fact]
    public async Task A_tcb_below_the_minimum_is_contraindicated_for_azure_snp_as_for_snp()
    {
        var claims = await V2Claims();
        var higher = DefaultPolicies.Load("strict", parameters: new Dictionary<string, string>
        {
            ["snp_min_bootloader"] = "0", ["snp_min_tee"] = "0", ["snp_min_microcode"] = "0",
            ["snp_min_snp"] = ((long)claims["snp.reported_tcb.snp"] + 1).ToString(CultureInfo.InvariantCulture),
        });
        Assert.Equal("snp-min-snp", Assert.Single(Appraise(claims, higher).Explanations).Rule);
    }

    [Fact]
    public void Tdx_rules_do_not_apply_to_azure_snp_and_az_rules_do_not_apply_to_plain_snp()
    {
        var snp = TestClaims.Snp();
        var plain = Appraiser.Appraise(DefaultPolicies.Load("strict", parameters: TestClaims.StrictParameters),
            new EvidenceSet([new SubmoduleEvidence(SubmoduleKind.Cpu, "snp", snp)]), TimeProvider.System);
        Assert.True(plain.IsAffirming, string.Join("; ", plain.Explanations));
    }

    [Fact]
    public async Task Init_data_binds_through_pcr8_and_a_sha384_document_is_refused()
    {
        var claims = await V2Claims();
        var set = new EvidenceSet([new SubmoduleEvidence(SubmoduleKind.Cpu, "az-snp-vtpm", claims)]);
        var toml = "version = \"0.1.0\"\nalgorithm = \"sha256\"\n[data]\n\"image\" = \"x\"\n"u8.ToArray();

        // The vector's PCR 8 is zero: no document is bound to it.
        var bound = InitDataBinding.Bind(set, toml);
        var cpu = Assert.Single(bound.Submodules);
        Assert.False(cpu.Verified);
        Assert.Contains(cpu.Failures!, f => f.StartsWith("init_data.binding: expected tpm.pcr08 ", StringComparison.Ordinal));

        // With PCR 8 as the attestation-agent leaves it after extending the digest, it binds.
        var digest = System.Security.Cryptography.SHA256.HashData(toml);
        var extended = new Dictionary<string, object>(claims) { ["tpm.pcr08"] = Convert.ToHexStringLower(VtpmPcr8(digest)) };
        var ok = InitDataBinding.Bind(new EvidenceSet([new SubmoduleEvidence(SubmoduleKind.Cpu, "az-snp-vtpm", extended)]), toml);
        Assert.True(Assert.Single(ok.Submodules).Verified);
        Assert.Equal("x", ok.InitData!["image"]);

        var sha384 = "version = \"0.1.0\"\nalgorithm = \"sha384\"\n"u8.ToArray();
        Assert.Contains("PCR 8", Assert.Throws<InitDataException>(() => InitDataBinding.Bind(set, sha384)).Message, StringComparison.Ordinal);
    }

    private static byte[] VtpmPcr8(byte[] digest) => System.Security.Cryptography.SHA256.HashData([.. new byte[32], .. digest]);
}
