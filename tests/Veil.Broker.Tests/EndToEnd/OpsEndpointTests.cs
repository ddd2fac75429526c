using System.Net;
using System.Text;
using Veil.Broker.Tests.Support;
using Veil.Protocol.Client;

namespace Veil.Broker.Tests.EndToEnd;

public class OpsEndpointTests
{
    [Fact]
    public async Task Healthz_metrics_and_unknown_paths()
    {
        await using var broker = await TestBroker.StartAsync(allowSample: true);
        using var http = broker.NewHttpClient();
        Assert.Equal("ok\n", await http.GetStringAsync(new Uri("/healthz", UriKind.Relative)));

        using var key = TeeKey.CreateEc();
        await Handshake.SampleAsync(new KbsClient(http), key);
        await Assert.ThrowsAsync<KbsClientException>(() => new KbsClient(http).AuthAsync("tdx"));

        using var metrics = await http.GetAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal("text/plain", metrics.Content.Headers.ContentType!.MediaType);
        var text = await metrics.Content.ReadAsStringAsync();
        Assert.Contains("# TYPE veil_attestations_total counter", text, StringComparison.Ordinal);
        Assert.Contains("veil_attestations_total{tee=\"sample\",outcome=\"verified\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("veil_attestations_total{tee=\"tdx\",outcome=\"refused\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("veil_http_request_duration_seconds_bucket{endpoint=\"attest\",le=\"+Inf\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("veil_http_request_duration_seconds_count{endpoint=\"auth\"} 2", text, StringComparison.Ordinal);

        using var none = await http.GetAsync(new Uri("/kbs/v0/nope", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
        Assert.Equal("application/problem+json", none.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task Admin_policy_and_reference_value_endpoints_validate_before_storing()
    {
        await using var broker = await TestBroker.StartAsync();
        using var admin = broker.NewAdminClient();
        static StringContent Json(string s) => new(s, Encoding.UTF8, "application/json");
        static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var rego = B64("package policy\ndefault allow = false\n");

        // A Rego document is not a Veil resource policy: refused with the reason, nothing stored.
        using (var r = await admin.PostAsync(new Uri("kbs/v0/resource-policy", UriKind.Relative), Json($"{{\"policy\":\"{rego}\"}}")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains("posted resource policy:", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var r = await admin.PostAsync(new Uri("kbs/v0/attestation-policy", UriKind.Relative), Json($"{{\"type\":\"rego\",\"policy_id\":\"default_cpu\",\"policy\":\"{rego}\"}}")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains("'rego' policies are not supported", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var r = await admin.PostAsync(new Uri("kbs/v0/attestation-policy", UriKind.Relative), Json("{\"policy\":\"" + rego + "\"}")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains("policy_id", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Unknown claim in a posted attestation policy: the answer names the line.
        var wrongClaim = B64("apiVersion: veil.dev/v1\nkind: AttestationPolicy\nsubmodules:\n  cpu:\n    rules:\n      - {name: x, claim: sample.svm, equals: \"1\", trust: hardware}\n");
        using (var r = await admin.PostAsync(new Uri("kbs/v0/attestation-policy", UriKind.Relative), Json($"{{\"policy_id\":\"p1\",\"policy\":\"{wrongClaim}\"}}")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            var body = await r.Content.ReadAsStringAsync();
            Assert.Contains("attestation-policy p1:6", body, StringComparison.Ordinal);
            Assert.Contains("sample.svm", body, StringComparison.Ordinal);
        }

        // A resource policy naming an attestation policy that does not exist is refused.
        var dangling = B64("apiVersion: veil.dev/v1\nkind: ResourcePolicy\nresources:\n  - {path: default/a/b, attestationPolicy: nope}\n");
        using (var r = await admin.PostAsync(new Uri("kbs/v0/resource-policy", UriKind.Relative), Json($"{{\"policy\":\"{dangling}\"}}")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains("attestation policy 'nope' is unknown", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var r = await admin.PostAsync(new Uri("kbs/v0/reference-value", UriKind.Relative), Json("{\"version\":\"0.1.0\",\"type\":\"sample\",\"payload\":\"e30\"}")))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }

        using (var r = await admin.PostAsync(new Uri("kbs/v0/reference-value", UriKind.Relative), Json("{\"version\":\"0.2.0\",\"type\":\"sample\",\"payload\":\"e30\"}")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains("version: expected '0.1.0'", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var r = await admin.PostAsync(new Uri("kbs/v0/reference-value", UriKind.Relative), Json("{\"version\":\"0.1.0\",\"type\":\"swid\",\"payload\":\"e30\"}")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains("only messages of type 'sample'", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // The policy in effect is the built-in one: every resource needs the broker's policy (sample here).
        var current = await admin.GetStringAsync(new Uri("kbs/v0/resource-policy", UriKind.Relative));
        Assert.Contains("\"attestation_policy\":\"sample\"", current, StringComparison.Ordinal);
        Assert.Contains("built-in resource policy", current, StringComparison.Ordinal);

        using var anonymous = broker.NewHttpClient();
        using (var r = await anonymous.GetAsync(new Uri("kbs/v0/resource-policy", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        }
    }
}
