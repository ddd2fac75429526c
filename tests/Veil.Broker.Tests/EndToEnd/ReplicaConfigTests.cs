using System.Diagnostics;
using System.Net;
using System.Text;
using Veil.Broker.Tests.Support;
using Veil.Protocol.Client;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>
/// A resource policy written through one replica is in effect on the others without a restart (LISTEN/NOTIFY with
/// the configuration version), and a replica that missed the notification reloads when it reconnects. The version
/// poll is set to ten minutes here, so only the notification or the reconnect can have carried the change.
/// </summary>
public sealed class ReplicaConfigTests : IAsyncLifetime
{
    private const string Locked = """
        apiVersion: veil.dev/v1
        kind: ResourcePolicy
        default: {attestationPolicy: sample}
        resources:
          - path: default/model/locked
            attestationPolicy: sample
            require:
              - {name: owner, claim: init_data.model_owner, equals: nobody}
        """;

    private readonly List<TestBroker> _replicas = [];
    private PostgresTestDatabase _db = null!;

    public async Task InitializeAsync()
    {
        _db = await PostgresTestServer.CreateDatabaseAsync();
        _replicas.AddRange(await Replicas.StartAsync(2, _db, configure: o => o with { ConfigPollInterval = TimeSpan.FromMinutes(10) }));
        await _replicas[0].PutResourceAsync("default/model/locked", Encoding.UTF8.GetBytes("locked-" + Guid.NewGuid().ToString("N")));
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
    public async Task A_resource_policy_posted_to_one_replica_denies_on_the_other_without_a_restart()
    {
        using var key = TeeKey.CreateEc();
        using var http = _replicas[1].NewHttpClient();
        var guest = new KbsClient(http);
        await Handshake.SampleAsync(guest, key);
        Assert.NotNull(await guest.GetResourceAsync("default/model/locked")); // released under the built-in policy

        using var admin = _replicas[0].NewAdminClient();
        var posted = Stopwatch.StartNew();
        using (var r = await admin.PostAsync(new Uri("kbs/v0/resource-policy", UriKind.Relative), Json($$"""{"policy":"{{B64Url(Locked)}}"}""")))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }

        var denied = await WaitForDenialAsync(guest);
        Assert.True(denied, "replica 1 still released default/model/locked 30 s after the policy was posted to replica 0");
        Console.WriteLine($"resource policy in effect on the other replica after {posted.ElapsedMilliseconds} ms");
        using var admin1 = _replicas[1].NewAdminClient();
        Assert.Contains("\"source\":\"posted resource policy\"", await admin1.GetStringAsync(new Uri("kbs/v0/resource-policy", UriKind.Relative)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_replica_that_missed_the_notification_reloads_when_its_subscription_comes_back()
    {
        using var key = TeeKey.CreateEc();
        using var http = _replicas[1].NewHttpClient();
        var guest = new KbsClient(http);
        await Handshake.SampleAsync(guest, key);
        Assert.NotNull(await guest.GetResourceAsync("default/model/locked"));

        // Written behind the brokers' backs, with no NOTIFY: only a reload after a reconnect can bring it in.
        var escaped = Locked.Replace("'", "''", StringComparison.Ordinal);
        await _db.ExecAsync($"INSERT INTO policies (kind, id, body, updated_at) VALUES ('resource', 'resource-policy', '{escaped}', now()); UPDATE config_version SET version = version + 1;");
        await Task.Delay(500);
        Assert.NotNull(await guest.GetResourceAsync("default/model/locked")); // nothing told replica 1 yet

        await _db.ExecAsync("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'veil-broker-listen' AND datname = current_database();");
        Assert.True(await WaitForDenialAsync(guest), "replica 1 did not reload after its subscription was cut and came back");
    }

    private static async Task<bool> WaitForDenialAsync(KbsClient guest)
    {
        var until = Stopwatch.StartNew();
        while (until.Elapsed < TimeSpan.FromSeconds(30))
        {
            try
            {
                await guest.GetResourceAsync("default/model/locked");
            }
            catch (KbsClientException e) when (e.Status == 401 && e.Kind == "PolicyDeny")
            {
                return true;
            }

            await Task.Delay(20);
        }

        return false;
    }

    private static StringContent Json(string s) => new(s, Encoding.UTF8, "application/json");

    private static string B64Url(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
