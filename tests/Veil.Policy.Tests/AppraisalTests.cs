using Veil.Policy.Appraisal;
using Veil.Policy.Model;
using Veil.Policy.ReferenceValues;

namespace Veil.Policy.Tests;

public class AppraisalTests
{
    private static AttestationPolicy Strict() => DefaultPolicies.Load("strict", parameters: TestClaims.StrictParameters);

    private static AttestationPolicy Policy(string rules, IReferenceValueStore? store = null, string sub = "cpu") =>
        PolicyLoader.Parse($"apiVersion: veil.dev/v1\nkind: AttestationPolicy\nsubmodules:\n  {sub}:\n    rules:\n{rules}", "t.yaml", store);

    [Fact]
    public void Strict_affirms_a_clean_snp_guest_with_eight_gpus()
    {
        var r = Appraiser.Appraise(Strict(), TestClaims.SnpWithGpus(8), TestClaims.Now);
        Assert.Equal(EarStatus.Affirming, r.Status);
        Assert.Equal(9, r.Submodules.Count);
        Assert.Equal(["cpu0", "gpu0", "gpu7"], r.Submodules.Select(s => s.Name).Where(n => n is "cpu0" or "gpu0" or "gpu7"));
        Assert.Empty(r.Explanations);
        var cpu = r.Submodules[0].TrustVector;
        Assert.Equal(TrustVector.Affirming, cpu[TrustComponent.Configuration]);
        Assert.Equal(TrustVector.Affirming, cpu[TrustComponent.Hardware]);
        Assert.Equal(0, cpu[TrustComponent.Executables]);
        Assert.Equal(TrustVector.Affirming, r.Submodules[1].TrustVector[TrustComponent.Executables]);
    }

    [Fact]
    public void Debug_guest_is_contraindicated_with_the_debug_explanation_and_its_source_line()
    {
        var r = Appraiser.Appraise(Strict(), TestClaims.SnpWithGpus(0, debug: true), TestClaims.Now);
        Assert.Equal(EarStatus.Contraindicated, r.Status);
        var e = Assert.Single(r.Explanations);
        Assert.Equal("snp.policy.debug: expected false, actual true", e.ToString());
        Assert.Equal("snp-no-debug", e.Rule);
        Assert.Equal("equals", e.Operator);
        Assert.Equal("cpu0", e.Submodule);
        var line = Array.FindIndex(DefaultPolicies.Text("strict")!.Split('\n'), l => l.Contains("name: snp-no-debug", StringComparison.Ordinal)) + 1;
        Assert.Equal($"strict.yaml:{line}", e.Source);
        Assert.Equal(TrustVector.Contraindicated, r.Submodules[0].TrustVector[TrustComponent.Configuration]);
    }

    [Fact]
    public void Tcb_below_minimum_names_the_component()
    {
        var ev = TestClaims.SnpWithGpus(0);
        ((Dictionary<string, object>)ev.Submodules[0].Claims)["snp.reported_tcb.microcode"] = 100L;
        var e = Assert.Single(Appraiser.Appraise(Strict(), ev, TestClaims.Now).Explanations);
        Assert.Equal("snp.reported_tcb.microcode: expected >= 115, actual 100", e.ToString());
    }

    [Fact]
    public void Ppcie_is_required_only_when_switches_are_present()
    {
        var noSwitch = TestClaims.SnpWithGpus(2);
        ((Dictionary<string, object>)noSwitch.Submodules[1].Claims)["nvidia.ppcie_mode"] = false;
        Assert.Equal(EarStatus.Affirming, Appraiser.Appraise(Strict(), noSwitch, TestClaims.Now).Status);

        var withSwitch = TestClaims.SnpWithGpus(2, switches: 1);
        ((Dictionary<string, object>)withSwitch.Submodules[1].Claims)["nvidia.ppcie_mode"] = false;
        var r = Appraiser.Appraise(Strict(), withSwitch, TestClaims.Now);
        Assert.Equal(EarStatus.Contraindicated, r.Status);
        Assert.Equal("gpu0", Assert.Single(r.Explanations).Submodule);
    }

    [Fact]
    public void Gpu_with_cc_off_or_mismatched_rims_is_contraindicated()
    {
        var ev = TestClaims.SnpWithGpus(3);
        ((Dictionary<string, object>)ev.Submodules[2].Claims)["nvidia.cc_mode"] = false;
        ((Dictionary<string, object>)ev.Submodules[3].Claims)["nvidia.measurements_match"] = false;
        var r = Appraiser.Appraise(Strict(), ev, TestClaims.Now);
        Assert.Equal(["gpu1: nvidia.cc_mode: expected true, actual false", "gpu2: nvidia.measurements_match: expected true, actual false"],
            r.Explanations.Select(e => $"{e.Submodule}: {e}"));
        Assert.Equal(EarStatus.Affirming, r.Submodules[0].Status);
    }

    [Fact]
    public void Unverified_evidence_and_unaccepted_tees_fail_closed()
    {
        var unverified = new EvidenceSet([new SubmoduleEvidence(SubmoduleKind.Cpu, "snp", TestClaims.Snp(), Verified: false, Failures: ["report.signature"])]);
        var r = Appraiser.Appraise(Strict(), unverified, TestClaims.Now);
        Assert.Equal(EarStatus.Contraindicated, r.Status);
        Assert.Equal(TrustVector.CryptoFailed, r.Submodules[0].TrustVector[TrustComponent.InstanceIdentity]);
        Assert.Contains("report.signature", r.Explanations[0].Actual);

        var sample = new EvidenceSet([new SubmoduleEvidence(SubmoduleKind.Cpu, "sample", new Dictionary<string, object> { ["sample.svn"] = "1" })]);
        var s = Appraiser.Appraise(Strict(), sample, TestClaims.Now);
        Assert.Equal(EarStatus.Contraindicated, s.Status);
        Assert.Equal("tee: expected one of [snp, tdx, az-snp-vtpm, az-tdx-vtpm], actual sample", Assert.Single(s.Explanations).ToString());
    }

    [Fact]
    public void Missing_cpu_evidence_is_contraindicated()
    {
        var r = Appraiser.Appraise(Strict(), new EvidenceSet([]), TestClaims.Now);
        Assert.Equal(EarStatus.Contraindicated, r.Status);
        Assert.Equal("minCount", Assert.Single(r.Explanations).Rule);
    }

    [Fact]
    public void Absent_claim_fails_unless_if_present()
    {
        var p = Policy("      - {name: fmc, claim: snp.reported_tcb.fmc, gte: 1, trust: hardware}\n");
        var e = Assert.Single(Appraiser.Appraise(p, TestClaims.SnpWithGpus(0), TestClaims.Now).Explanations);
        Assert.Equal("absent", e.Actual);
        var q = Policy("      - {name: fmc, claim: snp.reported_tcb.fmc, gte: 1, ifPresent: true, trust: hardware}\n");
        Assert.Equal(EarStatus.None, Appraiser.Appraise(q, TestClaims.SnpWithGpus(0), TestClaims.Now).Status);
    }

    [Fact]
    public void Warning_rules_give_warning_status()
    {
        var p = Policy("      - {name: smt, claim: snp.policy.smt, equals: false, severity: warning, trust: configuration}\n"
            + "      - {name: dbg, claim: snp.policy.debug, equals: false, trust: configuration}\n");
        var r = Appraiser.Appraise(p, TestClaims.SnpWithGpus(0), TestClaims.Now);
        Assert.Equal(EarStatus.Warning, r.Status);
        Assert.Equal(TrustVector.Warning, r.Submodules[0].TrustVector[TrustComponent.Configuration]);
    }

    [Fact]
    public void Every_operator_evaluates_real_values()
    {
        var p = Policy(
            "      - {name: a, claim: snp.product, oneOf: [Genoa, Milan], trust: hardware}\n"
            + "      - {name: b, claim: snp.product, matches: '^Mil', trust: hardware}\n"
            + "      - {name: c, claim: snp.signer, notEquals: vlek, trust: instance-identity}\n"
            + "      - {name: d, claim: snp.vmpl, lt: 1, trust: configuration}\n"
            + "      - {name: e, claim: snp.vmpl, lte: 0, trust: configuration}\n"
            + "      - {name: f, claim: snp.version, gt: 2, trust: hardware}\n"
            + "      - {name: g, claim: snp.measurement, equals: '0x803F691094946E42068AAA3A8F9E26A5C89F36F7B73ECFB28C653360FE4B3ABA7E534442E7E1E17895DFE778D0228977', trust: executables}\n"
            + "      - {name: h, claim: snp.id_key_digest, exists: false, trust: instance-identity}\n");
        var r = Appraiser.Appraise(p, TestClaims.SnpWithGpus(0), TestClaims.Now);
        Assert.Empty(r.Explanations);
        Assert.Equal(EarStatus.Affirming, r.Status);

        var q = Policy(
            "      - {name: a, claim: snp.product, oneOf: [Genoa, Turin], trust: hardware}\n"
            + "      - {name: b, claim: snp.vmpl, gt: 0, trust: configuration}\n");
        Assert.Equal(["snp.product: expected one of [Genoa, Turin], actual Milan", "snp.vmpl: expected > 0, actual 0"],
            Appraiser.Appraise(q, TestClaims.SnpWithGpus(0), TestClaims.Now).Explanations.Select(e => e.ToString()));
    }

    [Fact]
    public void Version_bounds_compare_numerically_and_vbios_as_hex()
    {
        var p = Policy("      - {name: drv, claim: nvidia.driver_version, versionGte: '550.54.15', trust: executables}\n"
            + "      - {name: old, claim: nvidia.driver_version, versionLte: '550.100', trust: executables}\n"
            + "      - {name: vbios, claim: nvidia.vbios_version, versionGte: '96.00.9A.00.00', trust: executables}\n", sub: "gpu");
        var ev = new EvidenceSet([new SubmoduleEvidence(SubmoduleKind.Gpu, "nvidia", TestClaims.Gpu(0))]);
        Assert.Empty(Appraiser.Appraise(p, ev, TestClaims.Now).Explanations);

        var q = Policy("      - {name: drv, claim: nvidia.driver_version, versionGte: '550.100', trust: executables}\n", sub: "gpu");
        Assert.Equal("nvidia.driver_version: expected version >= 550.100, actual 550.90.07", Assert.Single(Appraiser.Appraise(q, ev, TestClaims.Now).Explanations).ToString());
    }

    [Fact]
    public void Wrongly_typed_actual_claim_fails_with_its_type_named()
    {
        var p = Policy("      - {name: dbg, claim: snp.policy.debug, equals: false, trust: configuration}\n");
        var claims = TestClaims.Snp();
        claims["snp.policy.debug"] = "false";
        var e = Assert.Single(Appraiser.Appraise(p, new EvidenceSet([new SubmoduleEvidence(SubmoduleKind.Cpu, "snp", claims)]), TestClaims.Now).Explanations);
        Assert.Equal("false (not a boolean)", e.Actual);
    }

    [Fact]
    public void A_pattern_that_backtracks_exponentially_is_matched_in_linear_time_not_timed_out()
    {
        // The first branch is the classic ReDoS shape (a loop in a loop, then a character the claim never has): a
        // backtracking engine tries 2^96 ways to split the 96 hex digits of the measurement before it gives up on it and
        // tries the second branch, which matches. Appraisal must answer "matches" promptly, whatever the load.
        const string Pattern = "^([0-9a-f]+)+[0-9a-f]!|^803f";
        var p = Policy($"      - {{name: m, claim: snp.measurement, matches: '{Pattern}', trust: executables}}\n"
            + $"      - {{name: n, claim: snp.measurement, matches: '^([0-9a-f]+)+[0-9a-f]!', trust: executables}}\n");
        var timer = System.Diagnostics.Stopwatch.StartNew();
        var r = Appraiser.Appraise(p, TestClaims.SnpWithGpus(0), TestClaims.Now);
        timer.Stop();
        var e = Assert.Single(r.Explanations); // only rule n, whose only branch cannot match
        Assert.Equal("n", e.Rule);
        Assert.DoesNotContain("timed out", e.ToString(), StringComparison.Ordinal);
        Assert.True(timer.Elapsed < TimeSpan.FromSeconds(5), $"appraisal took {timer.Elapsed.TotalMilliseconds:F0} ms");
    }

    [Theory]
    [InlineData("'(a)\\1'", "uses backreference (")]
    [InlineData("'^(?=Mil)'", "uses positive lookahead (?= pattern)")]
    [InlineData("'(?>Mil)an'", "uses atomic subexpressions (?> pattern)")]
    [InlineData("'(M{1000}){1000}'", "too large for linear-time matching")]
    public void A_pattern_linear_time_matching_cannot_run_is_a_load_error_at_its_line(string pattern, string construct)
    {
        var e = Assert.Throws<PolicyLoadException>(() => Policy($"      - {{name: a, claim: snp.product, trust: hardware, matches: {pattern}}}\n"));
        Assert.Contains("t.yaml:6", e.Message, StringComparison.Ordinal);
        Assert.Contains("linear-time matching", e.Message, StringComparison.Ordinal);
        Assert.Contains(construct, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("NonBacktracking", e.Message, StringComparison.Ordinal); // the policy author's terms, not the engine's
    }

    [Fact]
    public void Reference_set_matches_current_values_and_explains_expired_ones()
    {
        var m = (string)TestClaims.Snp()["snp.measurement"];
        var store = new ReferenceValueStore();
        store.Add("images", new ReferenceValue(m.ToUpperInvariant(), "veil measure snp (build 7)", TestClaims.Now.GetUtcNow().AddDays(1)));
        var p = Policy("      - {name: img, claim: snp.measurement, inSet: images, trust: executables}\n", store);
        Assert.Equal(EarStatus.Affirming, Appraiser.Appraise(p, TestClaims.SnpWithGpus(0), TestClaims.Now).Status);

        var later = new Later(TestClaims.Now.GetUtcNow().AddDays(2));
        var r = Appraiser.Appraise(p, TestClaims.SnpWithGpus(0), later);
        Assert.Equal(EarStatus.Contraindicated, r.Status);
        var e = Assert.Single(r.Explanations);
        Assert.Contains("matches an expired value", e.Actual);
        Assert.Contains("veil measure snp (build 7)", e.Actual);
        Assert.Equal("a value in reference set 'images'", e.Expected);
    }

    [Fact]
    public void Generated_policy_affirms_its_own_claims_and_one_changed_value_gives_one_explanation()
    {
        var ev = TestClaims.SnpWithGpus(8, switches: 4);
        var text = PolicyGenerator.FromEvidence(ev, "pinned");
        var policy = PolicyLoader.Parse(text, "pinned.yaml");
        var r = Appraiser.Appraise(policy, ev, TestClaims.Now);
        Assert.Equal(EarStatus.Affirming, r.Status);
        Assert.Empty(r.Explanations);

        var m = (string)ev.Submodules[0].Claims["snp.measurement"];
        var changed = PolicyLoader.Parse(text.Replace(m, "00" + m[2..], StringComparison.Ordinal), "pinned.yaml");
        var bad = Appraiser.Appraise(changed, ev, TestClaims.Now);
        Assert.Equal(EarStatus.Contraindicated, bad.Status);
        Assert.Equal("snp.measurement", Assert.Single(bad.Explanations).Claim);
    }

    [Fact]
    public void Ear_json_has_status_vector_and_explanations()
    {
        var r = Appraiser.Appraise(Strict(), TestClaims.SnpWithGpus(1, debug: true), TestClaims.Now);
        var json = EarJson.From(r);
        Assert.Equal("contraindicated", (string?)json["ear.status"]);
        Assert.Equal(96, (int?)json["submods"]!["cpu0"]!["ear.trustworthiness-vector"]!["configuration"]);
        Assert.Equal("affirming", (string?)json["submods"]!["gpu0"]!["ear.status"]);
        var e = json["veil.explanations"]![0]!;
        Assert.Equal("snp.policy.debug", (string?)e["claim"]);
        Assert.Equal("false", (string?)e["expected"]);
        Assert.Equal("true", (string?)e["actual"]);
        Assert.StartsWith("strict.yaml:", (string?)e["source"], StringComparison.Ordinal);
    }

    private sealed class Later(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
