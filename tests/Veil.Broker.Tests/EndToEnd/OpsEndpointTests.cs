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
        Assert.Contains("veil_attestations_total{outcome=\"verified\",tee=\"sample\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("veil_attestations_total{outcome=\"refused\",tee=\"tdx\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("veil_http_request_duration_seconds_bucket{endpoint=\"attest\",le=\"+Inf\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("veil_http_request_duration_seconds_count{endpoint=\"auth\"} 2", text, StringComparison.Ordinal);

        using var none = await http.GetAsync(new Uri("/kbs/v0/nope", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
        Assert.Equal("application/problem+json", none.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task Admin_policy_and_reference_value_endpoints_store_and_validate()
    {
        await using var broker = await TestBroker.StartAsync();
        using var admin = broker.NewAdminClient();
        static StringContent Json(string s) => new(s, Encoding.UTF8, "application/json");
        var policy = Convert.ToBase64String(Encoding.UTF8.GetBytes("package policy\ndefault allow = false\n")).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        using (var r = await admin.PostAsync(new Uri("kbs/v0/resource-policy", UriKind.Relative), Json($"{{\"policy\":\"{policy}\"}}")))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }

        Assert.Contains("resource-policy", await admin.GetStringAsync(new Uri("kbs/v0/resource-policy", UriKind.Relative)), StringComparison.Ordinal);
        using (var r = await admin.PostAsync(new Uri("kbs/v0/attestation-policy", UriKind.Relative), Json($"{{\"type\":\"rego\",\"policy_id\":\"default_cpu\",\"policy\":\"{policy}\"}}")))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }

        using (var r = await admin.PostAsync(new Uri("kbs/v0/attestation-policy", UriKind.Relative), Json("{\"policy\":\"" + policy + "\"}")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains("policy_id", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var r = await admin.PostAsync(new Uri("kbs/v0/reference-value", UriKind.Relative), Json("{\"version\":\"0.1.0\",\"type\":\"sample\",\"payload\":\"e30\"}")))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }

        using (var r = await admin.PostAsync(new Uri("kbs/v0/reference-value", UriKind.Relative), Json("{\"version\":\"0.2.0\",\"type\":\"sample\",\"payload\":\"e30\"}")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        }

        using var anonymous = broker.NewHttpClient();
        using (var r = await anonymous.GetAsync(new Uri("kbs/v0/resource-policy", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        }
    }
}
