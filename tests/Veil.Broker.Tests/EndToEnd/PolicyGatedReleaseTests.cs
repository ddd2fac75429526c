using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Veil.Broker.Tests.Support;
using Veil.Protocol.Client;
using Veil.Protocol.Messages;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>
/// The policy engine in the broker: resources gated by a posted resource policy, attestation policies and reference
/// values posted through the admin API (both the Veil document and the CoCo RVPS message), init-data claims, and
/// denials that carry the explanation in the RFC 7807 body. Real broker on loopback; sample TEE and real SNP evidence.
/// </summary>
public class PolicyGatedReleaseTests
{
    private const string GatedPolicy = """
        apiVersion: veil.dev/v1
        kind: AttestationPolicy
        metadata: {name: gated}
        submodules:
          cpu:
            accept: [sample]
            rules:
              - {name: svn-approved, claim: sample.svn, inSet: approved-svns, trust: hardware}
        """;

    private const string ResourcePolicyText = """
        apiVersion: veil.dev/v1
        kind: ResourcePolicy
        default: {attestationPolicy: sample}
        resources:
          - path: default/model/gated
            attestationPolicy: gated
            require:
              - {name: owner, claim: init_data.model_owner, equals: acme}
        """;

    [Fact]
    public async Task A_gated_resource_is_released_only_when_the_claims_satisfy_its_policy_and_denials_explain_why()
    {
        var dataDir = (string?)null;
        var secret = Encoding.UTF8.GetBytes("gated-" + Guid.NewGuid().ToString("N"));
        var open = Encoding.UTF8.GetBytes("open-" + Guid.NewGuid().ToString("N"));
        await using (var broker = await TestBroker.StartAsync(allowSample: true))
        {
            dataDir = broker.DataDir;
            using var admin = broker.NewAdminClient();
            await PostOkAsync(admin, "kbs/v0/reference-value", Rvps("""{"approved-svns":["2"]}"""));
            await PostOkAsync(admin, "kbs/v0/attestation-policy", $$"""{"policy_id":"gated","policy":"{{B64Url(GatedPolicy)}}"}""");
            await PostOkAsync(admin, "kbs/v0/resource-policy", $$"""{"policy":"{{B64Url(ResourcePolicyText)}}"}""");
            await broker.PutResourceAsync("default/model/gated", secret);
            await broker.PutResourceAsync("default/model/open", open);

            using var http = broker.NewHttpClient();
            using var key = TeeKey.CreateEc();
            var token = await AttestAsync(new KbsClient(http), key, owner: "acme");

            // svn "1" is not in the approved set: denied, with the rule, claim, expected and actual value in the body.
            var denial = await GetProblemAsync(broker, token, "default/model/gated");
            Assert.Equal(401, denial.GetProperty("status").GetInt32());
            Assert.Equal("PolicyDeny", denial.GetProperty("title").GetString());
            var why = denial.GetProperty("explanations").EnumerateArray().First(e => e.GetProperty("rule").GetString() == "svn-approved");
            Assert.Equal("sample.svn", why.GetProperty("claim").GetString());
            Assert.Equal("a value in reference set 'approved-svns'", why.GetProperty("expected").GetString());
            Assert.StartsWith("1", why.GetProperty("actual").GetString(), StringComparison.Ordinal);
            Assert.StartsWith("attestation-policy gated:", why.GetProperty("source").GetString(), StringComparison.Ordinal);
            Assert.Contains("sample.svn: expected a value in reference set 'approved-svns'", denial.GetProperty("detail").GetString(), StringComparison.Ordinal);

            // The open resource falls under the default rule (the sample policy) and is released with the same token.
            Assert.Equal(open, key.Decrypt(await new KbsClient(http).GetResourceAsync("default/model/open")));

            // Approving svn 1 takes effect at once: the same token is appraised again at the next request.
            await PostOkAsync(admin, "kbs/v0/reference-value", Rvps("""{"approved-svns":["1"]}"""));
            Assert.Equal(secret, key.Decrypt(await new KbsClient(http).GetResourceAsync("default/model/gated")));

            // Init-data naming another owner: exactly one explanation, the init-data condition.
            using var http2 = broker.NewHttpClient();
            using var key2 = TeeKey.CreateEc();
            var token2 = await AttestAsync(new KbsClient(http2), key2, owner: "mallory");
            var denial2 = await GetProblemAsync(broker, token2, "default/model/gated");
            var only = Assert.Single(denial2.GetProperty("explanations").EnumerateArray());
            Assert.Equal(("owner", "init_data.model_owner", "acme", "mallory"),
                (only.GetProperty("rule").GetString(), only.GetProperty("claim").GetString(), only.GetProperty("expected").GetString(), only.GetProperty("actual").GetString()));
        }

        // Policies and reference values are persistent: after a restart the gated resource is still released.
        await using (var again = await TestBroker.StartAsync(allowSample: true, dataDir: dataDir))
        {
            using var http = again.NewHttpClient();
            using var key = TeeKey.CreateEc();
            await AttestAsync(new KbsClient(http), key, owner: "acme");
            Assert.Equal(secret, key.Decrypt(await new KbsClient(http).GetResourceAsync("default/model/gated")));
        }
    }

    [Fact]
    public async Task Sample_evidence_with_an_unsupported_svn_is_denied_under_the_shipped_sample_policy()
    {
        await using var broker = await TestBroker.StartAsync(allowSample: true);
        await broker.PutResourceAsync("default/model/key", Encoding.UTF8.GetBytes("k-" + Guid.NewGuid().ToString("N")));
        using var http = broker.NewHttpClient();
        using var key = TeeKey.CreateEc();
        var client = new KbsClient(http);
        var challenge = await client.AuthAsync("sample");
        var token = await client.AttestAsync(new KbsAttestation(new RuntimeData(challenge.Nonce, key.PublicJson),
            new TeeEvidence(SampleAttester.Evidence(challenge.Nonce, key.PublicJson, svn: "0"), "")));
        SecretLedger.Add("EAR token", token);
        var denial = await GetProblemAsync(broker, token, "default/model/key");
        var why = denial.GetProperty("explanations").EnumerateArray().First();
        Assert.Equal(("sample-svn-supported", "sample.svn", "0"), (why.GetProperty("rule").GetString(), why.GetProperty("claim").GetString(), why.GetProperty("actual").GetString()));
        Assert.StartsWith("sample.yaml:", why.GetProperty("source").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_posted_policy_whose_pattern_cannot_match_in_linear_time_is_400_and_the_one_in_effect_stays()
    {
        await using var broker = await TestBroker.StartAsync(allowSample: true);
        await broker.PutResourceAsync("default/model/key", Encoding.UTF8.GetBytes("k-" + Guid.NewGuid().ToString("N")));
        using var admin = broker.NewAdminClient();
        var policies = broker.Services.GetRequiredService<Veil.Broker.Appraisal.BrokerPolicies>();
        var version = policies.Version;
        foreach (var (pattern, why) in new[] { ("(1)\\1", "backreference"), ("(1{1000}){1000}", "too large for linear-time matching") })
        {
            var policy = GatedPolicy.Replace("inSet: approved-svns", $"matches: '{pattern}'", StringComparison.Ordinal);
            using var content = new StringContent($$"""{"policy_id":"gated","policy":"{{B64Url(policy)}}"}""", Encoding.UTF8, "application/json");
            using var r = await admin.PostAsync(new Uri("kbs/v0/attestation-policy", UriKind.Relative), content);
            var body = await r.Content.ReadAsStringAsync();
            Assert.True(r.StatusCode == HttpStatusCode.BadRequest, $"{pattern}: {(int)r.StatusCode} {body}");
            using var problem = JsonDocument.Parse(body);
            Assert.Equal("InvalidPolicy", problem.RootElement.GetProperty("title").GetString());
            Assert.Contains(why, problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        // Nothing was stored or applied, and guests are served as before.
        Assert.Equal(version, policies.Version);
        using var key = TeeKey.CreateEc();
        Assert.NotNull(await new KbsClient(broker.NewHttpClient()).GetWithSampleTeeAsync("default/model/key", key));
    }

    [Fact]
    public async Task Init_data_that_is_not_the_launched_one_is_refused_at_attestation()
    {
        await using var broker = await TestBroker.StartAsync(allowSample: false, binding: new FixedBinding(SnpVector.ReportData()));
        using var http = broker.NewHttpClient();
        var client = new KbsClient(http);
        using var key = TeeKey.CreateEc();
        var challenge = await client.AuthAsync("snp");
        var a = Handshake.SnpAttestation(challenge.Nonce, key);
        a = a with { InitData = new InitData("toml", InitDataToml("acme")) };
        var e = await Assert.ThrowsAsync<KbsClientException>(() => client.AttestAsync(a));
        Assert.Equal((401, "InitDataMismatch"), (e.Status, e.Kind));
        Assert.Contains("expected snp.host_data", e.Detail, StringComparison.Ordinal);

        var bad = a with { InitData = new InitData("json", "{}") };
        var challenge2 = await client.AuthAsync("snp");
        bad = bad with { RuntimeData = new RuntimeData(challenge2.Nonce, key.PublicJson) };
        var e2 = await Assert.ThrowsAsync<KbsClientException>(() => client.AttestAsync(bad));
        Assert.Equal("InvalidInitData", e2.Kind);
        Assert.Contains("init-data.format: 'json'", e2.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Real_snp_evidence_under_strict_needs_its_measurement_in_an_unexpired_reference_set()
    {
        await using var broker = await TestBroker.StartAsync(allowSample: false, binding: new FixedBinding(SnpVector.ReportData()));
        var secret = Encoding.UTF8.GetBytes("llama-" + Guid.NewGuid().ToString("N"));
        await broker.PutResourceAsync("default/llama/key", secret);
        using var admin = broker.NewAdminClient();
        var measurement = SnpVector.Measurement();
        await PostOkAsync(admin, "kbs/v0/reference-value", RvDocument(measurement, "2020-01-01T00:00:00Z", "llama-guest-images"));
        await PostOkAsync(admin, "kbs/v0/resource-policy", $$"""{"policy":"{{B64Url("""
            apiVersion: veil.dev/v1
            kind: ResourcePolicy
            resources:
              - path: default/llama/key
                attestationPolicy: strict
                require:
                  - {name: image, claim: snp.measurement, inSet: llama-guest-images}
            """)}}"}""");

        using var http = broker.NewHttpClient();
        var client = new KbsClient(http);
        using var key = TeeKey.CreateEc();
        var challenge = await client.AuthAsync("snp");
        var token = await client.AttestAsync(Handshake.SnpAttestation(challenge.Nonce, key));
        SecretLedger.Add("EAR token", token);

        // Only an expired value matches: denied, and the explanation says the match was expired.
        var denial = await GetProblemAsync(broker, token, "default/llama/key");
        var why = Assert.Single(denial.GetProperty("explanations").EnumerateArray());
        Assert.Equal("snp.measurement", why.GetProperty("claim").GetString());
        Assert.Contains("matches an expired value", why.GetProperty("actual").GetString(), StringComparison.Ordinal);

        // Unlisted resources are denied outright (no default rule in this resource policy).
        var unlisted = await GetProblemAsync(broker, token, "default/other/key");
        Assert.Equal("resource", unlisted.GetProperty("explanations")[0].GetProperty("claim").GetString());

        await PostOkAsync(admin, "kbs/v0/reference-value", RvDocument(measurement, "2100-01-01T00:00:00Z", "llama-guest-images"));
        Assert.Equal(secret, key.Decrypt(await client.GetResourceAsync("default/llama/key")));
    }

    internal static string InitDataToml(string owner) => $"version = \"0.1.0\"\nalgorithm = \"sha384\"\n\n[data]\nmodel_owner = \"{owner}\"\n";

    private static async Task<string> AttestAsync(KbsClient client, TeeKey key, string owner)
    {
        var challenge = await client.AuthAsync("sample");
        var token = await client.AttestAsync(new KbsAttestation(
            new InitData("toml", InitDataToml(owner)),
            new RuntimeData(challenge.Nonce, key.PublicJson),
            new TeeEvidence(SampleAttester.Evidence(challenge.Nonce, key.PublicJson), ""),
            new Dictionary<string, JsonElement>()));
        SecretLedger.Add("EAR token", token);
        return token;
    }

    private static async Task<JsonElement> GetProblemAsync(TestBroker broker, string token, string path)
    {
        using var http = broker.NewHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("kbs/v0/resource/" + path, UriKind.Relative));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static async Task PostOkAsync(HttpClient admin, string path, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var r = await admin.PostAsync(new Uri(path, UriKind.Relative), content);
        Assert.True(r.IsSuccessStatusCode, $"{path}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
    }

    private static string Rvps(string payload) =>
        $$"""{"version":"0.1.0","type":"sample","payload":"{{Convert.ToBase64String(Encoding.UTF8.GetBytes(payload))}}"}""";

    private static string RvDocument(string value, string expires, string set) =>
        $"apiVersion: veil.dev/v1\nkind: ReferenceValues\nsets:\n  {set}:\n    - value: \"{value}\"\n      provenance: \"veil measure snp (test)\"\n      expires: {expires}\n";

    private static string B64Url(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
