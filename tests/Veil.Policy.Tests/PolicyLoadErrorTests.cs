using Veil.Policy.ReferenceValues;

namespace Veil.Policy.Tests;

/// <summary>A wrong policy is rejected at load time with file and line.</summary>
public class PolicyLoadErrorTests
{
    private const string Header = "apiVersion: veil.dev/v1\nkind: AttestationPolicy\nsubmodules:\n  cpu:\n    rules:\n";

    private static PolicyLoadException Fail(string text, IReferenceValueStore? store = null) =>
        Assert.Throws<PolicyLoadException>(() => PolicyLoader.Parse(text, "p.yaml", store));

    private static string Rule(string body) => Header + "      - name: r\n        trust: configuration\n" + body;

    [Fact]
    public void Unknown_claim_names_file_line_and_suggests()
    {
        var e = Fail(Rule("        claim: snp.polcy.debug\n        equals: false\n"));
        Assert.Equal("p.yaml", e.Source.File);
        Assert.Equal(8, e.Source.Line);
        Assert.Contains("unknown claim 'snp.polcy.debug'", e.Message);
        Assert.Contains("did you mean 'snp.policy.debug'", e.Message);
        Assert.StartsWith("p.yaml:8: ", e.Message);
    }

    [Theory]
    [InlineData("        claim: snp.policy.debug\n        equals: \"false\"\n", "expected boolean")]
    [InlineData("        claim: snp.policy.debug\n        equals: nope\n", "expected boolean")]
    [InlineData("        claim: snp.vmpl\n        equals: \"0\"\n", "expected integer")]
    [InlineData("        claim: snp.vmpl\n        gte: 1.5\n", "expected integer")]
    [InlineData("        claim: snp.measurement\n        equals: xyz\n", "expected hex")]
    [InlineData("        claim: nvidia.driver_version\n        versionGte: abc.def.ghi.jkl.x\n", "dotted version")]
    public void Wrong_value_type_is_reported_on_the_value_line(string body, string reason)
    {
        var e = Fail(Rule(body));
        Assert.Equal(9, e.Source.Line);
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void Operator_that_does_not_fit_the_claim_type_is_rejected()
    {
        var e = Fail(Rule("        claim: snp.policy.debug\n        gte: 1\n"));
        Assert.Contains("operator 'gte' does not apply to snp.policy.debug", e.Message);
        Assert.Equal(9, e.Source.Line);
    }

    [Fact]
    public void Unknown_reference_set_is_reported_with_the_known_ones()
    {
        var store = new ReferenceValueStore();
        store.Add("good-images", new ReferenceValue("ab", "test", null));
        var e = Fail(Rule("        claim: snp.measurement\n        inSet: llama-images\n"), store);
        Assert.Equal(9, e.Source.Line);
        Assert.Contains("unknown reference set 'llama-images'", e.Message);
        Assert.Contains("good-images", e.Message);
    }

    [Fact]
    public void Bad_yaml_names_its_line()
    {
        var e = Fail(Header + "      - name: r\n        claim: [unclosed\n        trust: x\n");
        Assert.True(e.Source.Line >= 7, e.Message);
        Assert.Contains("not valid YAML/JSON", e.Message);
    }

    [Fact]
    public void Json_policy_errors_name_the_line_too()
    {
        const string json = "{\n \"apiVersion\": \"veil.dev/v1\",\n \"kind\": \"AttestationPolicy\",\n \"submodules\": {\n  \"cpu\": {\n   \"rules\": [\n    {\"name\": \"r\", \"trust\": \"configuration\",\n     \"claim\": \"snp.policy.debugg\", \"equals\": false}\n   ]\n  }\n }\n}\n";
        var e = Assert.Throws<PolicyLoadException>(() => PolicyLoader.Parse(json, "p.json"));
        Assert.Equal("p.json", e.Source.File);
        Assert.Equal(8, e.Source.Line);
        Assert.Contains("unknown claim", e.Message);
    }

    [Fact]
    public void Json_policy_with_valid_rules_loads()
    {
        const string json = "{\"apiVersion\":\"veil.dev/v1\",\"kind\":\"AttestationPolicy\",\"submodules\":{\"cpu\":{\"rules\":[{\"name\":\"r\",\"trust\":\"configuration\",\"claim\":\"snp.policy.debug\",\"equals\":false},{\"name\":\"v\",\"trust\":\"configuration\",\"claim\":\"snp.vmpl\",\"lte\":1}]}}}";
        var p = PolicyLoader.Parse(json, "p.json");
        Assert.Equal(2, p.Submodules[Model.SubmoduleKind.Cpu].Rules.Count);
    }

    [Theory]
    [InlineData("        claim: snp.vmpl\n        equals: 0\n        gte: 0\n", "exactly one operator")]
    [InlineData("        claim: snp.vmpl\n", "exactly one operator")]
    [InlineData("        claim: snp.vmpl\n        equal: 0\n", "unknown field 'equal'")]
    [InlineData("        claim: snp.product\n        matches: \"[\"\n", "invalid regular expression")]
    [InlineData("        claim: snp.vmpl\n        equals: 0\n        severity: fatal\n", "severity 'fatal'")]
    [InlineData("        claim: snp.vmpl\n        oneOf: []\n", "at least one value")]
    public void Malformed_rules_are_rejected(string body, string reason)
    {
        Assert.Contains(reason, Fail(Rule(body)).Message);
    }

    [Fact]
    public void Unknown_trust_component_and_duplicate_names_are_rejected()
    {
        Assert.Contains("unknown trust component 'hardwar'",
            Fail(Header + "      - name: r\n        trust: hardwar\n        claim: snp.vmpl\n        equals: 0\n").Message);
        var dup = Header + "      - name: r\n        trust: hardware\n        claim: snp.vmpl\n        equals: 0\n"
            + "      - name: r\n        trust: hardware\n        claim: snp.vmpl\n        equals: 1\n";
        var e = Fail(dup);
        Assert.Contains("duplicate rule name 'r'", e.Message);
        Assert.Equal(10, e.Source.Line);
    }

    [Fact]
    public void Header_must_be_veil_v1_attestation_policy()
    {
        Assert.Contains("apiVersion 'v2'", Fail("apiVersion: v2\nkind: AttestationPolicy\nsubmodules: {}\n").Message);
        Assert.Contains("kind 'Other'", Fail("apiVersion: veil.dev/v1\nkind: Other\nsubmodules: {}\n").Message);
        Assert.Contains("unknown submodule 'tpu'", Fail("apiVersion: veil.dev/v1\nkind: AttestationPolicy\nsubmodules:\n  tpu: {}\n").Message);
    }

    [Fact]
    public void Strict_needs_the_operator_minimums_and_names_the_missing_one()
    {
        var e = Assert.Throws<PolicyLoadException>(() => DefaultPolicies.Load("strict"));
        Assert.Contains("parameter 'snp_min_bootloader' has no value", e.Message);
        Assert.StartsWith("strict.yaml:", e.Message);

        var wrong = new Dictionary<string, string>(TestClaims.StrictParameters) { ["snp_min_tee"] = "zero" };
        Assert.Contains("expected integer", Assert.Throws<PolicyLoadException>(() => DefaultPolicies.Load("strict", parameters: wrong)).Message);

        var extra = new Dictionary<string, string>(TestClaims.StrictParameters) { ["nope"] = "1" };
        Assert.Contains("'nope' is supplied but the policy does not declare it", Assert.Throws<PolicyLoadException>(() => DefaultPolicies.Load("strict", parameters: extra)).Message);

        var strict = DefaultPolicies.Load("strict", parameters: TestClaims.StrictParameters);
        Assert.Equal("veil:strict", strict.Id);
    }

    [Fact]
    public void Missing_file_is_a_load_error()
    {
        Assert.Throws<PolicyLoadException>(() => PolicyLoader.Load("/nonexistent/policy.yaml"));
    }

    [Fact]
    public void Random_and_truncated_documents_fail_with_a_load_error_only()
    {
        var strict = DefaultPolicies.Text("strict")!;
        var rng = new Random(6);
        for (var n = 0; n < 300; n++)
        {
            var text = n % 2 == 0
                ? strict[..rng.Next(strict.Length)]
                : new string(Enumerable.Range(0, rng.Next(200)).Select(_ => (char)rng.Next(9, 127)).ToArray());
            try
            {
                PolicyLoader.Parse(text, "fuzz.yaml", parameters: null);
            }
            catch (PolicyLoadException)
            {
            }
        }
    }

    [Fact]
    public void Deeply_nested_and_oversized_documents_are_refused_not_crashed()
    {
        var deep = "apiVersion: veil.dev/v1\nkind: AttestationPolicy\nsubmodules: " + new string('[', 100_000) + new string(']', 100_000) + "\n";
        var e = Fail(deep);
        Assert.Contains("nesting deeper than 64", e.Message);
        Assert.Equal(3, e.Source.Line);
        Assert.Contains("larger than", Fail(Header + new string('#', Veil.Policy.Loading.PolicyYaml.MaxLength)).Message);
        // Brackets inside quoted strings and comments do not count.
        var quoted = Header + "      - {name: r, claim: snp.product, matches: '" + new string('[', 100) + "', trust: hardware} # " + new string('{', 100) + "\n";
        Assert.Contains("invalid regular expression", Fail(quoted).Message);
    }
}
