using System.Net;
using System.Security.Cryptography;
using System.Text;
using Veil.Broker.Tests.Support;
using Veil.Protocol.Client;
using Veil.Protocol.Messages;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>
/// Three real brokers (Kestrel on loopback) over one PostgreSQL database and one set of keys, as replicas behind a
/// load balancer: a handshake whose steps each land on another replica, concurrent replays across replicas, expiry
/// on every replica, tokens and tee keys that stay together.
/// </summary>
public sealed class ReplicaTests : IAsyncLifetime
{
    private readonly TestClock _clock = new();
    private readonly List<TestBroker> _replicas = [];
    private PostgresTestDatabase _db = null!;

    private IReadOnlyList<Uri> Urls => _replicas.Select(r => r.Url).ToList();

    public async Task InitializeAsync()
    {
        _db = await PostgresTestServer.CreateDatabaseAsync();
        _replicas.AddRange(await Replicas.StartAsync(3, _db, _clock));
    }

    public async Task DisposeAsync()
    {
        foreach (var r in _replicas)
        {
            await r.DisposeAsync();
        }

        await _db.DisposeAsync();
    }

    [Fact]
    public async Task Auth_on_one_replica_attest_on_another_resource_on_a_third_releases_and_every_replica_audits_into_one_log()
    {
        var secret = Encoding.UTF8.GetBytes("replicated-" + Guid.NewGuid().ToString("N"));
        await _replicas[2].PutResourceAsync("default/model/key", secret);
        using var http = ReplicaRouter.Client(Urls, n => n, out _);
        using var key = TeeKey.CreateEc();
        var client = new KbsClient(http);
        await Handshake.SampleAsync(client, key);                                   // auth → replica 0, attest → replica 1
        Assert.Equal(secret, key.Decrypt(await client.GetResourceAsync("default/model/key"))); // resource → replica 2

        var actions = await _db.ScalarAsync<string>("SELECT string_agg(action || ':' || outcome, ',' ORDER BY id) FROM audit WHERE actor LIKE 'tee:%';");
        Assert.Equal("attest:allowed,release:allowed", actions);
    }

    [Fact]
    public async Task One_attestation_sent_to_two_replicas_at_once_is_accepted_once()
    {
        for (var round = 0; round < 8; round++)
        {
            using var auth = ReplicaRouter.Client(Urls, _ => round % 3, out var cookies);
            using var key = TeeKey.CreateEc();
            var challenge = await new KbsClient(auth).AuthAsync("sample");
            var body = Handshake.SampleAttestation(challenge.Nonce, key).ToUtf8();
            var cookie = cookies.GetCookieHeader(new Uri(Urls[0], "kbs/v0/attest"));
            SecretLedger.Add("session id", cookie.Split('=')[1]);
            var answers = await Task.WhenAll(Enumerable.Range(1, 2).Select(async offset =>
            {
                using var http = new HttpClient();
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Urls[(round + offset) % 3], "kbs/v0/attest")) { Content = new ByteArrayContent(body) };
                request.Headers.Add("Cookie", cookie);
                using var response = await http.SendAsync(request);
                return (response.StatusCode, Text: await response.Content.ReadAsStringAsync());
            }));
            Assert.Single(answers, a => a.StatusCode == HttpStatusCode.OK);
            Assert.Single(answers, a => a.StatusCode == HttpStatusCode.Unauthorized && a.Text.Contains("already used", StringComparison.Ordinal));
            SecretLedger.Add("EAR token", answers.First(a => a.StatusCode == HttpStatusCode.OK).Text);
        }
    }

    [Fact]
    public async Task A_session_expired_on_the_clock_is_expired_on_every_replica()
    {
        using var http = ReplicaRouter.Client(Urls, n => n, out _);
        using var key = TeeKey.CreateEc();
        var client = new KbsClient(http);
        var challenge = await client.AuthAsync("sample");                                   // replica 0
        _clock.Advance(TimeSpan.FromMinutes(5));
        var e = await Assert.ThrowsAsync<KbsClientException>(() => client.AttestAsync(Handshake.SampleAttestation(challenge.Nonce, key))); // replica 1
        Assert.Equal((401, "InvalidSession"), (e.Status, e.Kind));
        Assert.Contains("expired", e.Detail, StringComparison.Ordinal);
        var r = await Assert.ThrowsAsync<KbsClientException>(() => client.GetResourceAsync("default/model/key")); // replica 2
        Assert.Equal(401, r.Status);
    }

    [Fact]
    public async Task A_sessions_release_is_encrypted_to_the_key_its_own_attestation_carried_whichever_replica_serves_it()
    {
        var secret = Encoding.UTF8.GetBytes("bound-" + Guid.NewGuid().ToString("N"));
        await _replicas[0].PutResourceAsync("default/model/bound", secret);
        using var key1 = TeeKey.CreateEc();
        using var key2 = TeeKey.CreateEc();
        using var http1 = ReplicaRouter.Client(Urls, n => n, out _);
        using var http2 = ReplicaRouter.Client(Urls, n => n + 1, out _);
        var guest1 = new KbsClient(http1);
        var guest2 = new KbsClient(http2);
        await Handshake.SampleAsync(guest1, key1);
        var (_, token2) = await Handshake.SampleAsync(guest2, key2);

        // A second attestation in guest 1's session, with guest 2's key, is refused (its nonce is spent) ...
        var again = await Assert.ThrowsAsync<KbsClientException>(() => guest1.AttestAsync(Handshake.SampleAttestation(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), key2)));
        Assert.Equal(401, again.Status);

        // ... and every replica answers guest 1's session with a JWE for key 1 only: key 2 cannot open it.
        foreach (var _ in Urls)
        {
            var jwe = await guest1.GetResourceAsync("default/model/bound");
            Assert.Equal(secret, key1.Decrypt(jwe));
            Assert.ThrowsAny<CryptographicException>(() => key2.Decrypt(jwe));
        }

        // Guest 2's token as a bearer token in guest 1's session releases to key 2, the key that token attests.
        Assert.Equal(secret, key2.Decrypt(await guest1.GetResourceAsync("default/model/bound", token2)));
    }
}

/// <summary>Starts replicas: one data directory (keys, as from one Secret), one PostgreSQL database.</summary>
internal static class Replicas
{
    public static async Task<List<TestBroker>> StartAsync(int count, PostgresTestDatabase db, TimeProvider? time = null, Func<BrokerOptions, BrokerOptions>? configure = null)
    {
        var list = new List<TestBroker>();
        for (var i = 0; i < count; i++)
        {
            list.Add(await TestBroker.StartAsync(
                allowSample: true,
                time: time,
                dataDir: list.Count == 0 ? null : list[0].DataDir,
                configure: o => (configure ?? (x => x))(o with { Store = db.Location })));
        }

        return list;
    }
}
