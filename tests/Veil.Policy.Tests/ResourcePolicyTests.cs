using Veil.Policy.Loading;
using Veil.Policy.Appraisal;
using Veil.Policy.Model;
using Veil.Policy.ReferenceValues;
using Veil.Policy.Resources;

namespace Veil.Policy.Tests;

public class ResourcePolicyTests
{
    private const string Rp = """
        apiVersion: veil.dev/v1
        kind: ResourcePolicy
        resources:
          - path: default/llama/key
            attestationPolicy: strict
            require:
              - name: llama-image
                claim: snp.measurement
                inSet: llama-guest-images
              - name: image-digest
                claim: init_data.image_digest
                equals: "sha256:1111"
          - path: default/public/*
            attestationPolicy: strict
            minimumStatus: warning
        """;

    private static (ResourcePolicy Rp, ReferenceValueStore Store) Load()
    {
        var store = new ReferenceValueStore();
        store.Add("llama-guest-images", new ReferenceValue((string)TestClaims.Snp()["snp.measurement"], "veil measure snp", null));
        return (ResourcePolicy.Parse(Rp, "resources.yaml", store), store);
    }

    private static ResourceDecision Decide(ResourcePolicy rp, string resource, EvidenceSet ev)
    {
        var rule = rp.Match(resource);
        var policy = DefaultPolicies.Load(rule?.AttestationPolicy ?? "strict", parameters: TestClaims.StrictParameters);
        return rp.Decide(resource, Appraiser.Appraise(policy, ev, TestClaims.Now), ev, TestClaims.Now);
    }

    [Fact]
    public void Model_key_is_released_when_image_and_init_data_match()
    {
        var (rp, _) = Load();
        var ev = TestClaims.SnpWithGpus(1) with { InitData = new Dictionary<string, string> { ["image_digest"] = "sha256:1111" } };
        var d = Decide(rp, "default/llama/key", ev);
        Assert.True(d.Allowed, string.Join("; ", d.Explanations));
        Assert.Equal("strict", d.AttestationPolicy);
    }

    [Fact]
    public void Model_key_is_denied_with_the_failed_condition_named()
    {
        var (rp, _) = Load();
        var ev = TestClaims.SnpWithGpus(1) with { InitData = new Dictionary<string, string> { ["image_digest"] = "sha256:2222" } };
        var d = Decide(rp, "default/llama/key", ev);
        Assert.False(d.Allowed);
        var e = Assert.Single(d.Explanations);
        Assert.Equal("init_data.image_digest: expected sha256:1111, actual sha256:2222", e.ToString());
        Assert.Equal("image-digest", e.Rule);
        Assert.StartsWith("resources.yaml:", e.Source, StringComparison.Ordinal);
    }

    [Fact]
    public void Failed_attestation_denies_with_the_appraisal_explanations()
    {
        var (rp, _) = Load();
        var ev = TestClaims.SnpWithGpus(0, debug: true) with { InitData = new Dictionary<string, string> { ["image_digest"] = "sha256:1111" } };
        var d = Decide(rp, "default/llama/key", ev);
        Assert.False(d.Allowed);
        Assert.Contains(d.Explanations, e => e.ToString() == "snp.policy.debug: expected false, actual true");
        Assert.Contains(d.Explanations, e => e.Rule == "minimum-status");
    }

    [Fact]
    public void Unlisted_resource_is_denied_without_a_default_and_strict_applies_with_the_built_in_default()
    {
        var (rp, _) = Load();
        var d = Decide(rp, "other/repo/tag", TestClaims.SnpWithGpus(0));
        Assert.False(d.Allowed);
        Assert.Equal("resource-policy", Assert.Single(d.Explanations).Rule);

        var builtIn = ResourcePolicy.StrictDefault;
        Assert.True(Decide(builtIn, "any/thing/here", TestClaims.SnpWithGpus(0)).Allowed);
        Assert.False(Decide(builtIn, "any/thing/here", TestClaims.SnpWithGpus(0, debug: true)).Allowed);
    }

    [Fact]
    public void Status_none_is_never_released_even_where_warning_is_enough()
    {
        var (rp, _) = Load();
        var policy = PolicyLoader.Parse("apiVersion: veil.dev/v1\nkind: AttestationPolicy\nmetadata: {name: strict}\nsubmodules:\n  cpu:\n    accept: [snp]\n", "empty.yaml");
        var ev = TestClaims.SnpWithGpus(0);
        var appraisal = Appraiser.Appraise(policy, ev, TestClaims.Now);
        Assert.Equal(EarStatus.None, appraisal.Status);
        var d = rp.Decide("default/public/readme", appraisal, ev, TestClaims.Now);
        Assert.False(d.Allowed);
        Assert.Equal("ear.status: expected at least warning, actual none", Assert.Single(d.Explanations).ToString());
    }

    [Fact]
    public void Wildcard_paths_match_one_segment()
    {
        var (rp, _) = Load();
        Assert.NotNull(rp.Match("default/public/readme"));
        Assert.Null(rp.Match("default/public/a/b"));
    }

    [Fact]
    public void Bad_resource_policies_fail_with_lines()
    {
        var e = Assert.Throws<PolicyLoadException>(() => ResourcePolicy.Parse(Rp.Replace("inSet: llama-guest-images", "inSet: nope", StringComparison.Ordinal), "resources.yaml", new ReferenceValueStore()));
        Assert.Contains("unknown reference set 'nope'", e.Message);
        Assert.Equal(9, e.Source.Line);
        var p = Assert.Throws<PolicyLoadException>(() => ResourcePolicy.Parse(Rp.Replace("default/llama/key", "llama", StringComparison.Ordinal), "resources.yaml", Load().Store));
        Assert.Contains("repository/type/tag", p.Message);
    }
}

public class ReferenceValueFileTests
{
    [Fact]
    public void File_sets_carry_provenance_and_expiry()
    {
        var sets = ReferenceValueFile.Parse("""
            apiVersion: veil.dev/v1
            kind: ReferenceValues
            sets:
              llama-guest-images:
                - value: abcd
                  provenance: veil measure snp --ovmf OVMF.fd (release 1.4)
                  expires: 2027-01-01T00:00:00Z
                - value: ef01
                  provenance: ci
            """, "rv.yaml");
        var s = Assert.Single(sets);
        Assert.Equal("llama-guest-images", s.Name);
        Assert.Equal(new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero), s.Values[0].Expires);
        Assert.Null(s.Values[1].Expires);
        Assert.Equal("rv.yaml:5", s.Values[0].Source!.ToString());
    }

    [Theory]
    [InlineData("sets:\n  a:\n    - value: x\n", "missing 'provenance'")]
    [InlineData("sets:\n  a:\n    - value: x\n      provenance: p\n      expires: tomorrow\n", "not an ISO-8601 time")]
    [InlineData("sets:\n  'bad name':\n    - value: x\n      provenance: p\n", "set name 'bad name'")]
    public void Bad_files_name_the_problem(string body, string reason)
    {
        var e = Assert.Throws<PolicyLoadException>(() => ReferenceValueFile.Parse("apiVersion: veil.dev/v1\nkind: ReferenceValues\n" + body, "rv.yaml"));
        Assert.Contains(reason, e.Message);
        Assert.StartsWith("rv.yaml:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Written_files_read_back_identically_even_with_awkward_text()
    {
        var sets = new[]
        {
            new ReferenceValueSet("a", [new ReferenceValue("ab\"c\\d", "line1\nline2: #x", new DateTimeOffset(2027, 1, 2, 3, 4, 5, TimeSpan.Zero))]),
            new ReferenceValueSet("b.c_d-e", [new ReferenceValue("00ff", "p", null)]),
        };
        var back = ReferenceValueFile.Parse(ReferenceValueFile.Write(sets), "rv.yaml");
        Assert.Equal(sets.Select(s => s.Name), back.Select(s => s.Name));
        Assert.Equal("ab\"c\\d", back[0].Values[0].Value);
        Assert.Equal("line1\nline2: #x", back[0].Values[0].Provenance);
        Assert.Equal(sets[0].Values[0].Expires, back[0].Values[0].Expires);
        Assert.Null(back[1].Values[0].Expires);
    }

    [Fact]
    public void Coco_sample_message_is_accepted()
    {
        var sets = ReferenceValueFile.ParseSampleMessage("""{"version":"0.1.0","type":"sample","payload":"{\"svn\":[\"1\"],\"launch_digest\":\"abcde\"}"}""", "kbs-client");
        Assert.Equal(["svn", "launch_digest"], sets.Select(s => s.Name));
        Assert.Equal("abcde", sets[1].Values[0].Value);
        Assert.Equal("kbs-client", sets[1].Values[0].Provenance);
        Assert.Throws<PolicyLoadException>(() => ReferenceValueFile.ParseSampleMessage("""{"type":"other","payload":"{}"}""", "x"));
        Assert.Throws<PolicyLoadException>(() => ReferenceValueFile.ParseSampleMessage("{", "x"));
    }

    [Fact]
    public void A_parameter_in_matches_is_substituted_and_an_unknown_one_is_a_load_error()
    {
        const string Policy = "apiVersion: veil.dev/v1\nkind: AttestationPolicy\nparameters:\n  svn_pattern: \"^[2-9]$\"\nsubmodules:\n  cpu:\n    accept: [sample]\n    rules:\n      - {name: svn, claim: sample.svn, matches: $svn_pattern, trust: hardware}\n";
        var policy = PolicyLoader.Parse(Policy, "p.yaml");
        var claims = new Dictionary<string, object> { ["sample.svn"] = "1" };
        var result = Appraiser.Appraise(policy, new EvidenceSet([new SubmoduleEvidence(SubmoduleKind.Cpu, "sample", claims)]), TimeProvider.System);
        Assert.Equal("sample.svn: expected match of /^[2-9]$/, actual 1", Assert.Single(result.Explanations).ToString());
        var e = Assert.Throws<PolicyLoadException>(() => PolicyLoader.Parse(Policy.Replace("$svn_pattern", "$nope", StringComparison.Ordinal), "p.yaml"));
        Assert.Contains("p.yaml:9: unknown parameter '$nope'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Coco_sample_message_with_a_base64_payload_as_kbs_client_sends_it_is_accepted()
    {
        var payload = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("""{"svn":["1","2"],"major_version":1}"""));
        var sets = ReferenceValueFile.ParseSampleMessage($$"""{"version":"0.1.0","type":"sample","payload":"{{payload}}"}""", "kbs-client");
        Assert.Equal(["svn", "major_version"], sets.Select(s => s.Name));
        Assert.Equal(["1", "2"], sets[0].Values.Select(v => v.Value));
        Assert.Equal("1", sets[1].Values[0].Value);
        var e = Assert.Throws<PolicyLoadException>(() => ReferenceValueFile.ParseSampleMessage("""{"version":"0.1.0","type":"sample","payload":"not base64!"}""", "x"));
        Assert.Contains("payload must be base64", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Policy_reads_reference_value_files_relative_to_itself()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "rv.yaml"),
                $"apiVersion: veil.dev/v1\nkind: ReferenceValues\nsets:\n  imgs:\n    - value: {TestClaims.Snp()["snp.measurement"]}\n      provenance: test\n");
            var policyPath = Path.Combine(dir.FullName, "p.yaml");
            File.WriteAllText(policyPath, "apiVersion: veil.dev/v1\nkind: AttestationPolicy\nreferenceValues: [rv.yaml]\nsubmodules:\n  cpu:\n    rules:\n      - {name: img, claim: snp.measurement, inSet: imgs, trust: executables}\n");
            var p = PolicyLoader.Load(policyPath);
            Assert.Equal(["imgs"], p.ReferenceSetsUsed);
            Assert.Equal(EarStatus.Affirming, Appraiser.Appraise(p, TestClaims.SnpWithGpus(0), TestClaims.Now).Status);
        }
        finally
        {
            dir.Delete(true);
        }
    }
}

public class ClaimsFileTests
{
    [Fact]
    public void Verify_output_and_evidence_set_shapes_are_read()
    {
        var single = ClaimsFile.Parse("""{"verified": true, "tee": "snp", "claims": {"snp.vmpl": 0, "snp.policy.debug": false, "tdx.advisory_ids": ["a"]}, "failures": []}""", "c.json");
        var s = Assert.Single(single.Submodules);
        Assert.Equal(SubmoduleKind.Cpu, s.Kind);
        Assert.Equal(0L, s.Claims["snp.vmpl"]);

        var set = ClaimsFile.Parse("""{"cpu": {"snp.vmpl": 0}, "gpu": [{"tee": "nvidia", "claims": {"nvidia.cc_mode": true}}, {"nvidia.cc_mode": false}], "init_data": {"image_digest": "x"}}""", "c.json");
        Assert.Equal([SubmoduleKind.Cpu, SubmoduleKind.Gpu, SubmoduleKind.Gpu], set.Submodules.Select(x => x.Kind));
        Assert.Equal("snp", set.Submodules[0].Tee);
        Assert.Equal("nvidia", set.Submodules[2].Tee);
        Assert.Equal("x", set.InitData!["image_digest"]);

        var failed = ClaimsFile.Parse("""{"verified": false, "tee": "snp", "claims": {}, "failures": [{"check": "report.signature"}]}""", "c.json");
        Assert.False(failed.Submodules[0].Verified);
        Assert.Equal(["report.signature"], failed.Submodules[0].Failures);
    }

    [Fact]
    public void A_failed_verify_output_is_read_as_an_unverified_submodule_whatever_its_verified_field_says()
    {
        var failed = ClaimsFile.Parse("""{"verified": false, "tee": "snp", "unverified_claims": {"snp.vmpl": 0}, "failures": [{"check": "collateral.vcek"}]}""", "c.json");
        var s = Assert.Single(failed.Submodules);
        Assert.False(s.Verified);
        Assert.Equal(0L, s.Claims["snp.vmpl"]);
        Assert.Equal(["collateral.vcek"], s.Failures);

        // Edited to say verified: the claims are still the unverified ones, inside an evidence set too.
        var edited = ClaimsFile.Parse("""{"cpu": {"verified": true, "tee": "snp", "unverified_claims": {"snp.vmpl": 0}, "failures": []}}""", "c.json");
        Assert.False(Assert.Single(edited.Submodules).Verified);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("{\"cpu\": {\"snp.vmpl\": 1.5}}")]
    [InlineData("{\"cpu\": {\"snp.vmpl\": {\"x\": 1}}}")]
    [InlineData("{\"gpu\": {}}")]
    [InlineData("{\"other\": 1}")]
    [InlineData("{\"cpu\": ")]
    [InlineData("{\"tee\": \"snp\", \"claims\": {}, \"unverified_claims\": {}}")]
    [InlineData("{\"tee\": \"snp\", \"unverified_claims\": []}")]
    public void Malformed_claims_files_are_load_errors(string json)
    {
        Assert.Throws<PolicyLoadException>(() => ClaimsFile.Parse(json, "c.json"));
    }
}

public class PolicyEngineTests
{
    [Fact]
    public void Default_engine_releases_to_a_clean_guest_and_denies_a_debug_guest_with_the_explanation()
    {
        var engine = PolicyEngine.Default(TestClaims.StrictParameters, null, TestClaims.Now);
        var (ok, okAppraisal) = engine.Decide("default/llama/key", TestClaims.SnpWithGpus(8));
        Assert.True(ok.Allowed, string.Join("; ", ok.Explanations));
        Assert.Equal(EarStatus.Affirming, okAppraisal!.Status);

        var (denied, _) = engine.Decide("default/llama/key", TestClaims.SnpWithGpus(8, debug: true));
        Assert.False(denied.Allowed);
        var json = EarJson.Explanations(denied.Explanations).ToJsonString();
        Assert.Contains("snp.policy.debug: expected false, actual true", json);
        Assert.Same(engine.Policy("strict"), engine.Policy("strict"));
    }

    [Fact]
    public void Sample_tee_is_released_only_under_a_resource_policy_that_accepts_it()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "sample.yaml"),
                "apiVersion: veil.dev/v1\nkind: AttestationPolicy\nmetadata: {name: sample}\nsubmodules:\n  cpu:\n    rules:\n      - {name: svn, claim: sample.svn, oneOf: ['1'], trust: hardware}\n");
            var rp = ResourcePolicy.Parse($"apiVersion: veil.dev/v1\nkind: ResourcePolicy\nresources:\n  - path: test/sample/key\n    attestationPolicy: {Path.Combine(dir.FullName, "sample.yaml")}\n", "resources.yaml");
            var engine = new PolicyEngine(rp, name => DefaultPolicies.Load(name), TestClaims.Now);
            EvidenceSet Sample(string svn) => new([new SubmoduleEvidence(SubmoduleKind.Cpu, "sample", new Dictionary<string, object> { ["sample.svn"] = svn })]);

            var (ok, _) = engine.Decide("test/sample/key", Sample("1"));
            Assert.True(ok.Allowed, string.Join("; ", ok.Explanations));
            var (denied, _) = engine.Decide("test/sample/key", Sample("2"));
            Assert.False(denied.Allowed);
            Assert.Contains(denied.Explanations, e => e.ToString() == "sample.svn: expected one of [1], actual 2");
            var (unlisted, none) = engine.Decide("test/other/key", Sample("1"));
            Assert.False(unlisted.Allowed);
            Assert.Null(none);
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
