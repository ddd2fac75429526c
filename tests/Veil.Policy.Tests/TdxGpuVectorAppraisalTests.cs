using System.Text.RegularExpressions;
using Veil.Attestation;
using Veil.Attestation.Nvidia;
using Veil.Attestation.Tdx;
using Veil.Policy.Appraisal;
using Veil.Policy.Model;
using Veil.Tests.Shared;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Policy.Tests;

/// <summary>
/// Appraisal of the claims the TDX and NVIDIA verifiers produce for the real vectors that verify: a policy
/// generated from a vector's own claims affirms it, and one changed reference value contraindicates it with
/// exactly one explanation naming the changed claim (multi-device sets get rules per device).
/// </summary>
public partial class TdxGpuVectorAppraisalTests
{
    private static readonly DateTimeOffset Today = DateTimeOffset.Parse("2026-11-21T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    public static TheoryData<string> TdxNames() => new(["dcap-qvl tdx_quote", "go-tdx-guest v4", "go-tdx-guest v5", "go-tdx-guest cos"]);

    public static TheoryData<string> GpuNames() => new(["nvtrust history h100 + rims", "sdk blackwell b200", "sdk hopper", "nvtrust 8-gpu ppcie", "nvtrust 4 switches", "sdk ls10 switch", "sdk multi_gpu_hopper", "sdk hopper cert hold"]);

    [Theory]
    [MemberData(nameof(TdxNames))]
    public async Task Tdx_vector_own_policy_affirms_and_changed_mr_td_is_explained(string name)
    {
        var (quote, collateral, at) = name switch
        {
            "dcap-qvl tdx_quote" => (Vectors.Bytes("dcap-qvl", "sample", "tdx_quote"), TdxCollateral.FromJson(Vectors.Bytes("dcap-qvl", "sample", "tdx_quote_collateral.json")), "2025-07-19T10:00:34Z"),
            "go-tdx-guest v4" => (Vectors.Bytes("go-tdx-guest", "testing-testdata", "tdx_prod_quote_SPR_E4.dat"), null, "2023-07-01T01:00:00Z"),
            "go-tdx-guest v5" => (Vectors.Bytes("go-tdx-guest", "testing-testdata", "quote_v5_sample.dat"), null, "2026-02-03T01:00:00Z"),
            _ => (Vectors.Bytes("go-tdx-guest", "testing-testdata", "ccel", "cos-113-tdx-quote.dat"), (TdxCollateral?)null, "2025-01-01T00:00:00Z"),
        };
        var time = new FixedTimeProvider(DateTimeOffset.Parse(at, System.Globalization.CultureInfo.InvariantCulture));
        var verifier = new TdxVerifier(collateral is null ? TdxCollateralSources.None : TdxCollateralSources.Fixed(collateral), time,
            new TdxVerifierOptions { RequireCollateral = collateral is not null });
        var result = await verifier.VerifyAsync(quote, null);
        Assert.True(result.Verified, string.Join("; ", result.Failures));
        var evidence = new EvidenceSet([new SubmoduleEvidence(SubmoduleKind.Cpu, "tdx", result.Claims)]);
        AssertOwnPolicyAndOneChange(evidence, "tdx.mr_td", time);
        if (collateral is not null)
        {
            Assert.Equal("UpToDate", result.Claims["tdx.tcb_status"]);
        }
    }

    [Fact]
    public async Task Trustee_debug_td_is_contraindicated_under_strict_with_the_debug_explanation()
    {
        // tdx_quote_4.dat is a debug TD (trustee MANIFEST); no offline collateral exists for it, so the TCB
        // status is absent and strict names that too.
        var verifier = new TdxVerifier(TdxCollateralSources.None, new FixedTimeProvider(DateTimeOffset.Parse("2025-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture)),
            new TdxVerifierOptions { RequireCollateral = false });
        var result = await verifier.VerifyAsync(Vectors.Bytes("trustee", "deps", "verifier", "test_data", "tdx_quote_4.dat"), null);
        Assert.True(result.Verified, string.Join("; ", result.Failures));
        var strict = DefaultPolicies.Load("strict", parameters: TestClaims.StrictParameters);
        var r = Appraiser.Appraise(strict, new EvidenceSet([new SubmoduleEvidence(SubmoduleKind.Cpu, "tdx", result.Claims)]), TimeProvider.System);
        Assert.Equal(EarStatus.Contraindicated, r.Status);
        Assert.Equal(["tdx.td_attributes.debug: expected false, actual true", "tdx.tcb_status: expected UpToDate, actual absent"], r.Explanations.Select(e => e.ToString()));
    }

    [Theory]
    [MemberData(nameof(GpuNames))]
    public async Task Gpu_vector_own_policy_affirms_and_a_changed_value_is_explained_per_device(string name)
    {
        string N(params string[] p) => Vectors.Path(["nvtrust", .. p]);
        string S(params string[] p) => Vectors.Path(["attestation-sdk", "unit-tests-testdata", .. p]);
        string C(string f) => Vectors.Path("attestation-sdk", "common-test-data", "serialized_test_evidence", f);
        var (evidencePath, chain, nonce, at, rims) = name switch
        {
            "nvtrust history h100 + rims" => (N("history-2023-initial-samples", "attestationReport.txt"), N("history-2023-initial-samples", "gpuAkCertChain.txt"),
                "4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e", DateTimeOffset.Parse("2024-06-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture),
                new[] { N("local_gpu_verifier-samples", "Driver_RIM_test_no_gpu.swidtag"), N("local_gpu_verifier-samples", "1010_0200_882_96005E0001_test_no_gpu.swidtag") }),
            "sdk blackwell b200" => (S("sample_attestation_data", "gpu", "blackwellAttestationReport.txt"), S("sample_attestation_data", "gpu", "blackwellCertChain.txt"),
                "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb", Today, Array.Empty<string>()),
            "sdk hopper" => (S("hopperAttestationReport.txt"), S("hopperCertChain.txt"), "5bb22e377702d4e1e8215a903ba094826b9ac7f731dee1fe8102958bf2840aca", Today, []),
            "nvtrust 8-gpu ppcie" => (N("ppcie-tests-data", "gpu_evidence.json"), null, FirstNonce(N("ppcie-tests-data", "gpu_evidence.json")), Today, []),
            "nvtrust 4 switches" => (N("ppcie-tests-data", "switch_evidence.json"), null, null, Today, []),
            "sdk ls10 switch" => (C("switch_evidence_ls10.json"), null, null, Today, []),
            "sdk multi_gpu_hopper" => (C("multi_gpu_hopper.json"), null, null, Today, []),
            _ => (C("hopper_evidence_cert_hold.json"), (string?)null, (string?)null, Today, Array.Empty<string>()),
        };
        var time = new FixedTimeProvider(at);
        var verifier = new NvidiaVerifier(NvidiaCollateralSources.Files([.. rims.Select(r => new NvidiaRimFile(r, File.ReadAllBytes(r)))], []), time);
        var set = await verifier.VerifyAsync(File.ReadAllBytes(evidencePath), chain is null ? null : Certificates.Load(File.ReadAllBytes(chain), chain),
            nonce is null ? null : (ReadOnlyMemory<byte>?)Hex.Parse(nonce, "nonce"));
        Assert.True(set.Combined.Verified, string.Join("; ", set.Combined.Failures));
        var subs = set.Devices.Select(d => new SubmoduleEvidence(
            d.Claims.TryGetValue("nvidia.device_kind", out var k) && (string)k == "switch" ? SubmoduleKind.Switch : SubmoduleKind.Gpu, "nvidia", d.Claims, d.Verified)).ToList();
        var evidence = new EvidenceSet(subs);
        // Switches report no driver version: change the first pinned claim of these that the devices carry.
        var claim = new[] { "nvidia.driver_version", "nvidia.vbios_version", "nvidia.fwid", "nvidia.arch" }.First(c => subs.All(s => s.Claims.ContainsKey(c)));
        AssertOwnPolicyAndOneChange(evidence, claim, time);
        if (name.StartsWith("nvtrust history", StringComparison.Ordinal))
        {
            Assert.Equal(true, set.Devices[0].Claims["nvidia.measurements_match"]);
        }
    }

    private static void AssertOwnPolicyAndOneChange(EvidenceSet evidence, string claim, TimeProvider time)
    {
        var text = PolicyGenerator.FromEvidence(evidence, "own");
        var own = PolicyLoader.Parse(text, "own.yaml");
        var ok = Appraiser.Appraise(own, evidence, time);
        Assert.True(ok.Status == EarStatus.Affirming, string.Join("; ", ok.Explanations));

        var rule = RuleValue(claim).Match(text);
        Assert.True(rule.Success, $"generated policy has no rule for {claim}:\n{text}");
        var value = rule.Groups["value"].Value;
        var changed = claim == "nvidia.driver_version" ? "1.0.1" : (value[0] == 'f' ? '0' : 'f') + value[1..];
        // Only this one rule (the first device's, in a multi-device set) changes.
        var edited = text[..rule.Index] + rule.Value.Replace($"\"{value}\"", $"\"{changed}\"", StringComparison.Ordinal) + text[(rule.Index + rule.Length)..];
        var bad = Appraiser.Appraise(PolicyLoader.Parse(edited, "own.yaml"), evidence, time);
        Assert.Equal(EarStatus.Contraindicated, bad.Status);
        var e = Assert.Single(bad.Explanations);
        Assert.Equal(claim, e.Claim);
        Assert.Equal(changed, e.Expected);
    }

    private static Regex RuleValue(string claim) => new($"claim: {Regex.Escape(claim)}\\n\\s+equals: \"(?<value>[^\"]+)\"");

    private static string FirstNonce(string path)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement[0].GetProperty("nonce").GetString()!;
    }
}
