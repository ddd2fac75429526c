using System.Net;
using System.Text.Json;
using Veil.Broker.Limits;
using Veil.Broker.Tests.Support;
using Veil.Protocol.Client;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>Session caps and per-client rate limits, against a real broker, clients told apart by their loopback address.</summary>
public sealed class SessionAndRateLimitTests
{
    [Fact]
    public async Task Sessions_past_the_per_client_and_total_caps_are_429_with_retry_after()
    {
        await using var broker = await TestBroker.StartAsync(allowSample: true, configure: o => o with { MaxSessionsPerClient = 3, MaxSessions = 5 });
        using var a = LoopbackClients.From(broker.Url, LoopbackClients.Address(2));
        using var b = LoopbackClients.From(broker.Url, LoopbackClients.Address(3));
        for (var i = 0; i < 3; i++)
        {
            await new KbsClient(a).AuthAsync("sample");
        }

        var perClient = await AuthAsync(a);
        Assert.Equal(429, (int)perClient.Status);
        Assert.Equal("TooManySessions", perClient.Title);
        Assert.Contains("this client holds its maximum of 3 sessions", perClient.Detail, StringComparison.Ordinal);
        Assert.InRange(perClient.RetryAfter!.Value, 1, 300);

        // Another client still gets sessions, up to the total.
        await new KbsClient(b).AuthAsync("sample");
        await new KbsClient(b).AuthAsync("sample");
        var total = await AuthAsync(b);
        Assert.Equal(429, (int)total.Status);
        Assert.Contains("the broker holds its maximum of 5 sessions", total.Detail, StringComparison.Ordinal);
        Assert.NotNull(total.RetryAfter);

        using var http = broker.NewHttpClient();
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("veil_sessions_refused_total{reason=\"client_cap\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("veil_sessions_refused_total{reason=\"total_cap\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("veil_sessions 5", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sessions_are_admitted_again_once_they_expire()
    {
        var clock = new TestClock(DateTimeOffset.UtcNow);
        await using var broker = await TestBroker.StartAsync(allowSample: true, time: clock, configure: o => o with { MaxSessionsPerClient = 2 });
        using var a = LoopbackClients.From(broker.Url, LoopbackClients.Address(4));
        await new KbsClient(a).AuthAsync("sample");
        await new KbsClient(a).AuthAsync("sample");
        Assert.Equal(429, (int)(await AuthAsync(a)).Status);
        clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        await new KbsClient(a).AuthAsync("sample");
    }

    [Fact]
    public async Task Auth_attest_and_admin_requests_past_the_per_client_rate_are_429_and_other_clients_are_unaffected()
    {
        await using var broker = await TestBroker.StartAsync(allowSample: true, configure: o => o with { RateLimits = new RateLimitSettings(AuthPerSecond: 2, AttestPerSecond: 1, AdminPerSecond: 1) });
        using var a = LoopbackClients.From(broker.Url, LoopbackClients.Address(5));
        using var b = LoopbackClients.From(broker.Url, LoopbackClients.Address(6));

        // Twenty at once against a burst of twice the rate: some are refused, as a problem with Retry-After.
        var auths = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => AuthAsync(a)));
        Assert.True(auths.Count(x => x.Status == HttpStatusCode.OK) >= 4, string.Join(",", auths.Select(x => (int)x.Status)));
        var limited = auths.First(x => (int)x.Status == 429);
        Assert.Equal("TooManyRequests", limited.Title);
        Assert.Contains("rate limit for auth requests from this client reached", limited.Detail, StringComparison.Ordinal);
        Assert.NotNull(limited.RetryAfter);

        // Client b is its own bucket.
        Assert.Equal(HttpStatusCode.OK, (await AuthAsync(b)).Status);

        // Attest and admin have their own rates.
        var attest = await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ =>
        {
            using var r = await a.PostAsync(new Uri("kbs/v0/attest", UriKind.Relative), new StringContent("{}"));
            return (int)r.StatusCode;
        }));
        Assert.Contains(429, attest);
        Assert.Contains(attest, s => s == 400); // within the rate: "{}" is not an attestation

        a.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", broker.AdminToken);
        var admin = await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ =>
        {
            using var r = await a.GetAsync(new Uri("veil/v0/resources", UriKind.Relative));
            return (int)r.StatusCode;
        }));
        Assert.Contains(200, admin);
        Assert.Contains(429, admin);

        using var http = broker.NewHttpClient();
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("veil_rate_limited_total{endpoint=\"auth\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("veil_rate_limited_total{endpoint=\"admin\"}", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rate_limited_request_with_a_body_closes_the_connection_instead_of_reading_the_body()
    {
        await using var broker = await TestBroker.StartAsync(allowSample: true, configure: o => o with { RateLimits = new RateLimitSettings(AuthPerSecond: 1, AttestPerSecond: 1, AdminPerSecond: 1) });
        using var a = LoopbackClients.From(broker.Url, LoopbackClients.Address(7));
        var body = "{\"version\":\"0.4.0\",\"tee\":\"sample\",\"extra-params\":\"" + new string('x', 60_000) + "\"}";
        var answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(async _ =>
        {
            using var r = await a.PostAsync(new Uri("kbs/v0/auth", UriKind.Relative), new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
            return ((int)r.StatusCode, r.Headers.ConnectionClose == true);
        }));
        Assert.Contains(answers, x => x.Item1 == 429);
        Assert.All(answers.Where(x => x.Item1 == 429), x => Assert.True(x.Item2, "a 429 with an unread body must close the connection"));

        // Without a body there is nothing to drain: the connection stays open for the client's next request.
        a.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", broker.AdminToken);
        var gets = await Task.WhenAll(Enumerable.Range(0, 12).Select(async _ =>
        {
            using var r = await a.GetAsync(new Uri("veil/v0/resources", UriKind.Relative));
            return ((int)r.StatusCode, r.Headers.ConnectionClose == true);
        }));
        Assert.Contains(gets, x => x.Item1 == 429);
        Assert.All(gets.Where(x => x.Item1 == 429), x => Assert.False(x.Item2));
    }

    internal static async Task<(HttpStatusCode Status, string? Title, string Detail, int? RetryAfter)> AuthAsync(HttpClient http)
    {
        using var content = new StringContent("{\"version\":\"0.4.0\",\"tee\":\"sample\",\"extra-params\":\"\"}", System.Text.Encoding.UTF8, "application/json");
        using var r = await http.PostAsync(new Uri("kbs/v0/auth", UriKind.Relative), content);
        var body = await r.Content.ReadAsStringAsync();
        int? retry = r.Headers.RetryAfter?.Delta is { } d ? (int)d.TotalSeconds : null;
        if (r.IsSuccessStatusCode)
        {
            return (r.StatusCode, null, "", retry);
        }

        Assert.Equal("application/problem+json", r.Content.Headers.ContentType!.MediaType);
        using var doc = JsonDocument.Parse(body);
        return (r.StatusCode, doc.RootElement.GetProperty("title").GetString(), doc.RootElement.GetProperty("detail").GetString()!, retry);
    }
}
