using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Veil.Connect.Tests;

/// <summary>
/// veil connect → veil gateway → counting upstream on loopback: a streaming chat completion arrives event by event,
/// and the status page shows what was verified.
/// </summary>
public sealed class EndToEndTests : IAsyncLifetime
{
    private GatewayRig rig = null!;

    public async Task InitializeAsync() => rig = await GatewayRig.StartAsync();

    public async Task DisposeAsync() => await rig.DisposeAsync();

    internal static StringContent Chat(bool stream) => new(
        "{\"model\":\"m\",\"stream\":" + (stream ? "true" : "false") + ",\"messages\":[{\"role\":\"user\",\"content\":\"my secret prompt\"}]}",
        Encoding.UTF8, "application/json");

    [Fact]
    public async Task Streaming_chat_completion_is_forwarded_event_by_event_over_the_attested_connection()
    {
        var outcomes = new List<AttestationOutcome>();
        var proxy = await rig.ConnectAsync(GatewayRig.Options(observer: o => { lock (outcomes) { outcomes.Add(o); } }));
        using var http = new HttpClient { BaseAddress = proxy.Address, Timeout = TimeSpan.FromSeconds(60) };

        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = Chat(stream: true) };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        // The upstream holds back the second event until the first came out of veil connect: no hop buffers.
        var first = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}", first);
        rig.Upstream.SecondEvent.Release();
        var rest = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("\ndata: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\ndata: [DONE]\n\n", rest);

        Assert.Equal(1, rig.Upstream.Requests);
        Assert.True(rig.Upstream.BytesReceived > 0);
        var outcome = Assert.Single(outcomes);
        Assert.True(outcome.Accepted);
        Assert.Equal("sample", outcome.Tee);
        Assert.Equal(rig.Gateway.SpkiSha256Hex, outcome.TlsSpkiSha256);
        // The fake kernel made exactly one report, over the 64-byte attested-TLS binding.
        Assert.Equal(64, Assert.Single(rig.Kernel.InBlobs).Length);
    }

    [Fact]
    public async Task Kept_alive_connection_is_attested_once_and_status_page_shows_it()
    {
        var proxy = await rig.ConnectAsync(GatewayRig.Options());
        using var http = new HttpClient { BaseAddress = proxy.Address };
        for (var i = 0; i < 3; i++)
        {
            using var r = await http.PostAsync("v1/chat/completions", Chat(stream: false));
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Contains("Hello", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Single(rig.Kernel.InBlobs);
        using var statusRequest = new HttpRequestMessage(HttpMethod.Get, ".veil/status");
        statusRequest.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var status = await http.SendAsync(statusRequest);
        using var doc = JsonDocument.Parse(await status.Content.ReadAsStringAsync());
        var last = doc.RootElement.GetProperty("last");
        Assert.True(last.GetProperty("accepted").GetBoolean());
        Assert.Equal("sample", last.GetProperty("facts").GetProperty("platform").GetString());
        Assert.Equal("affirming", last.GetProperty("facts").GetProperty("result").GetString());
        Assert.Equal(1, doc.RootElement.GetProperty("attestations_accepted").GetInt64());

        var html = await http.GetStringAsync(".veil/status");
        Assert.Contains("Attested: requests are forwarded", html, StringComparison.Ordinal);
        Assert.Contains(rig.Gateway.SpkiSha256Hex, html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AttestedTlsHandler_attests_before_the_first_request_and_reuses_the_connection()
    {
        var outcomes = 0;
        using var http = new HttpClient(new AttestedTlsHandler(GatewayRig.Options(observer: _ => Interlocked.Increment(ref outcomes)))) { BaseAddress = rig.Gateway.Address };
        using var a = await http.PostAsync("v1/chat/completions", Chat(stream: false));
        using var b = await http.PostAsync("v1/chat/completions", Chat(stream: false));
        Assert.Equal(HttpStatusCode.OK, a.StatusCode);
        Assert.Equal(HttpStatusCode.OK, b.StatusCode);
        Assert.Equal(1, outcomes);
        Assert.Equal(2, rig.Upstream.Requests);
    }

    [Fact]
    public async Task Gateway_refuses_a_bad_nonce_with_a_problem_and_never_forwards_its_namespace()
    {
        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, c, _, _) => c is not null }) { BaseAddress = rig.Gateway.Address };
        foreach (var nonce in new[] { "", "short", new string('A', 87), "AAAA+AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", new string('A', 42) })
        {
            using var r = await http.GetAsync(".well-known/veil/attestation?nonce=" + Uri.EscapeDataString(nonce));
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
            Assert.DoesNotContain("short", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using var other = await http.GetAsync(".well-known/veil/other");
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        Assert.Equal(0, rig.Upstream.BytesReceived);
        Assert.Empty(rig.Kernel.InBlobs);
    }
}
