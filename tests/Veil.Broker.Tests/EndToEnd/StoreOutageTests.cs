using System.Diagnostics;
using System.Net;
using System.Text;
using Veil.Broker.Tests.Support;
using Veil.Protocol.Client;
using Veil.Protocol.Messages;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>
/// The network to PostgreSQL cut under a running broker (a loopback relay in front of the test cluster, dropped and
/// put back): every request that needs the store answers 503 with Retry-After and a problem body, never 500, and
/// releases nothing; /readyz says not ready while /livez stays up; once the path is back the broker serves again by
/// itself. At start, an unreachable store or a wrong password stops the broker with a message free of credentials.
/// </summary>
public sealed class StoreOutageTests
{
    [Fact]
    public async Task A_cut_store_answers_503_with_retry_after_releases_nothing_and_recovers_alone()
    {
        await using var db = await PostgresTestServer.CreateDatabaseAsync();
        var port = new Uri(db.Url).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var cutter = new TcpCutter(new Uri(db.Url).Port);
        var viaCutter = Veil.Broker.Storage.StoreLocation.Parse(db.Url.Replace(":" + port + "/", ":" + cutter.Port + "/", StringComparison.Ordinal), "test");
        await using var broker = await TestBroker.StartAsync(allowSample: true, configure: o => o with { Store = viaCutter });
        var secret = Encoding.UTF8.GetBytes("outage-" + Guid.NewGuid().ToString("N"));
        await broker.PutResourceAsync("default/model/key", secret);

        using var http = broker.NewHttpClient();
        using var key = TeeKey.CreateEc();
        var guest = new KbsClient(http);
        var (_, token) = await Handshake.SampleAsync(guest, key);
        var midway = await guest.AuthAsync("sample"); // a session the outage will interrupt
        await Readiness.UntilReadyAsync(http, broker.Url, TimeSpan.FromSeconds(30), "the broker was not ready within 30 s of its start");

        cutter.Cut();
        using var admin = broker.NewAdminClient();
        using var bare = broker.NewHttpClient();
        var attempts = new (string What, Func<Task<HttpResponseMessage>> Send)[]
        {
            ("auth", () => http.PostAsync(new Uri("kbs/v0/auth", UriKind.Relative), new StringContent("""{"version":"0.4.0","tee":"sample","extra-params":{}}"""))),
            ("attest", () => http.PostAsync(new Uri("kbs/v0/attest", UriKind.Relative), new ByteArrayContent(Handshake.SampleAttestation(midway.Nonce, key).ToUtf8()))),
            ("resource by session", () => http.GetAsync(new Uri("kbs/v0/resource/default/model/key", UriKind.Relative))),
            ("resource by bearer token", () => Bearer(bare, token)),
            ("admin put", () => admin.PostAsync(new Uri("kbs/v0/resource/default/model/other", UriKind.Relative), new ByteArrayContent([1, 2, 3]))),
            ("admin list", () => admin.GetAsync(new Uri("veil/v0/resources", UriKind.Relative))),
        };
        foreach (var (what, send) in attempts)
        {
            using var r = await send();
            await StoreUnavailableAnswer.AssertAsync(r, what, secret.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) + " bytes");
        }

        // Probed as a kubelet would (an answer is reused for up to a second): not ready while the store is away.
        var probing = Stopwatch.StartNew();
        HttpResponseMessage ready;
        while ((ready = await http.GetAsync(new Uri("readyz", UriKind.Relative))).StatusCode == HttpStatusCode.OK)
        {
            Assert.True(probing.Elapsed < TimeSpan.FromSeconds(10), "/readyz still said ready 10 s into the outage");
            await Task.Delay(100);
        }

        var why = await ready.Content.ReadAsStringAsync();
        Assert.True(ready.StatusCode == HttpStatusCode.ServiceUnavailable && ready.Headers.RetryAfter?.Delta == TimeSpan.FromSeconds(1), $"/readyz: {(int)ready.StatusCode} Retry-After {ready.Headers.RetryAfter} {why}");
        Assert.True(why.Contains("does not answer", StringComparison.Ordinal) || why.Contains("not yet following", StringComparison.Ordinal), why);
        ready.Dispose();

        foreach (var live in new[] { "livez", "healthz" })
        {
            using var r = await http.GetAsync(new Uri(live, UriKind.Relative));
            Assert.True(r.StatusCode == HttpStatusCode.OK, $"/{live} during the outage: {(int)r.StatusCode}");
        }

        cutter.Restore();
        await Readiness.UntilReadyAsync(http, broker.Url, TimeSpan.FromSeconds(60), "the broker did not become ready again within 60 s of the store coming back");

        // Serving again, with nothing from the outage half-done: the interrupted session's nonce is still unused.
        Assert.Equal(secret, key.Decrypt(await new KbsClient(bare).GetResourceAsync("default/model/key", token)));
        await guest.AttestAsync(Handshake.SampleAttestation(midway.Nonce, key));
        Assert.Equal(secret, key.Decrypt(await guest.GetResourceAsync("default/model/key")));
        var fresh = broker.NewHttpClient();
        Assert.Equal(secret, await new KbsClient(fresh).GetWithSampleTeeAsync("default/model/key", key));
    }

    [Fact]
    public async Task A_password_rotated_under_a_running_broker_answers_503_not_500_and_it_serves_again_once_the_password_works()
    {
        var db = await PostgresTestServer.CreateDatabaseAsync();
        var role = "veil_r_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4));
        var (first, rotated) = ("pw-" + Guid.NewGuid().ToString("N"), "pw-" + Guid.NewGuid().ToString("N"));
        SecretLedger.Add("store password (first)", first);
        SecretLedger.Add("store password (rotated)", rotated);
        await db.ExecAsync($"CREATE ROLE {role} LOGIN PASSWORD '{first}'; ALTER DATABASE {db.Name} OWNER TO {role};");
        try
        {
            var at = db.Url.LastIndexOf('@');
            var url = "postgresql://" + role + ":" + first + db.Url[at..];
            await using var broker = await TestBroker.StartAsync(allowSample: true, configure: o => o with { Store = Veil.Broker.Storage.StoreLocation.Parse(url, "test") });
            var secret = Encoding.UTF8.GetBytes("rotation-" + Guid.NewGuid().ToString("N"));
            await broker.PutResourceAsync("default/model/key", secret);
            using var key = TeeKey.CreateEc();
            Assert.Equal(secret, await new KbsClient(broker.NewHttpClient()).GetWithSampleTeeAsync("default/model/key", key));

            // The operator rotates the password in the database first; the broker's connections go (a restart, a
            // failover), and every new one is refused with 28P01 until the broker is given the new password.
            await db.ExecAsync($"ALTER ROLE {role} PASSWORD '{rotated}'; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}';");
            using var http = broker.NewHttpClient();
            foreach (var (what, path) in new[] { ("auth", "kbs/v0/auth"), ("auth again", "kbs/v0/auth"), ("readyz", "readyz") })
            {
                using var r = what == "readyz"
                    ? await http.GetAsync(new Uri(path, UriKind.Relative))
                    : await http.PostAsync(new Uri(path, UriKind.Relative), new StringContent("""{"version":"0.4.0","tee":"sample","extra-params":{}}"""));
                var body = await r.Content.ReadAsStringAsync();
                Assert.True(r.StatusCode == HttpStatusCode.ServiceUnavailable && r.Headers.RetryAfter?.Delta == TimeSpan.FromSeconds(1), $"{what}: {(int)r.StatusCode} {body}");
                Assert.Contains(what == "readyz" ? "28P01" : "StoreUnavailable", body, StringComparison.Ordinal);
                Assert.DoesNotContain(first, body, StringComparison.Ordinal);
            }

            // Rotated back (or the Secret caught up): the broker serves again by itself.
            await db.ExecAsync($"ALTER ROLE {role} PASSWORD '{first}';");
            await Readiness.UntilReadyAsync(http, broker.Url, TimeSpan.FromSeconds(30), "the broker did not become ready again once its password worked");
            Assert.Equal(secret, await new KbsClient(broker.NewHttpClient()).GetWithSampleTeeAsync("default/model/key", key));
        }
        finally
        {
            await db.DisposeAsync(); // drops the database, and with it everything the role owned
            await PostgresTestServer.ExecAdminAsync($"DROP ROLE IF EXISTS {role};");
        }
    }

    [Fact]
    public async Task An_unreachable_store_or_a_wrong_password_stops_the_start_with_a_message_free_of_credentials()
    {
        await using var db = await PostgresTestServer.CreateDatabaseAsync();
        var wrongPassword = "wrong-" + Guid.NewGuid().ToString("N");
        SecretLedger.Add("store password (wrong)", wrongPassword);
        var at = db.Url.LastIndexOf('@');
        var withWrong = db.Url[..(db.Url.IndexOf("veil:", StringComparison.Ordinal) + 5)] + wrongPassword + db.Url[at..];
        var e = await Assert.ThrowsAsync<BrokerConfigurationException>(() => TestBroker.StartAsync(configure: o => o with { Store = Veil.Broker.Storage.StoreLocation.Parse(withWrong, "--store") }));
        Assert.Contains("28P01", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrongPassword, e.Message, StringComparison.Ordinal);

        await using var cutter = new TcpCutter(1);
        cutter.Cut();
        var password = db.Url[(db.Url.IndexOf("veil:", StringComparison.Ordinal) + 5)..at];
        var nowhere = db.Url[..(at + 1)] + "127.0.0.1:" + cutter.Port + "/" + db.Name;
        var waited = Stopwatch.StartNew();
        var e2 = await Assert.ThrowsAsync<BrokerConfigurationException>(() => TestBroker.StartAsync(configure: o => o with { Store = Veil.Broker.Storage.StoreLocation.Parse(nowhere, "--store"), StoreStartupWait = TimeSpan.FromSeconds(2) }));
        Assert.True(waited.Elapsed >= TimeSpan.FromSeconds(1), "an unreachable store is waited for (retried) before the start gives up");
        Assert.Contains($"store postgresql://127.0.0.1:{cutter.Port}/{db.Name}: cannot open", e2.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(password, e2.Message, StringComparison.Ordinal);
    }

    private static Task<HttpResponseMessage> Bearer(HttpClient http, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri("kbs/v0/resource/default/model/key", UriKind.Relative));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return http.SendAsync(request);
    }
}
