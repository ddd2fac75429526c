using System.Net;
using Veil.Broker.Audit;
using Veil.Broker.Storage;
using Veil.Broker.Tests.Storage;
using Veil.Broker.Tests.Support;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>
/// Issue 16's disk fill: unauthenticated admin calls with ~7.8 KB paths. Each is still a 401 with its reason, but
/// the audit table gets the budget's rows plus a summary, every row bounded, and the database barely grows.
/// </summary>
public sealed class AuditFloodTests
{
    [Fact]
    public async Task Unauthenticated_admin_refusals_are_bounded_and_aggregated_while_admin_changes_are_all_recorded()
    {
        var broker = await TestBroker.StartAsync(configure: o => o with { AuditUnauthenticatedPerMinute = 20 });
        long before;
        try
        {
            await broker.PutResourceAsync("default/model/kept", "kept-value-123"u8.ToArray());
            before = DatabaseBytes(broker.DataDir);
            using var http = broker.NewHttpClient();
            var path = "kbs/v0/resource/" + new string('A', 7800) + "/x/y";
            var statuses = new System.Collections.Concurrent.ConcurrentBag<int>();
            await Parallel.ForEachAsync(Enumerable.Range(0, 1000), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (_, ct) =>
            {
                using var r = await http.DeleteAsync(new Uri(path, UriKind.Relative), ct);
                statuses.Add((int)r.StatusCode);
            });
            Assert.All(statuses, s => Assert.Equal(401, s));
            using var last = await http.DeleteAsync(new Uri(path, UriKind.Relative));
            Assert.Contains("admin endpoint requires 'Authorization: Bearer <admin JWT>'", await last.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            await broker.PutResourceAsync("default/model/kept2", "kept-value-456"u8.ToArray());
        }
        finally
        {
            await broker.DisposeAsync(); // flushes the window's summary
        }

        Assert.True(DatabaseBytes(broker.DataDir) - before < 1024 * 1024, $"database grew by {DatabaseBytes(broker.DataDir) - before} bytes");
        await using var handle = await SqliteBrokerStoreHandle.OpenAsync(broker.DataDir);
        var rows = await handle.Store.ListAuditAsync(10_000, CancellationToken.None);
        var refusals = rows.Where(r => r.Kind == AuditKind.Unauthenticated).ToList();
        var summaries = rows.Where(r => r.Kind == AuditKind.Summary).ToList();
        Assert.Equal(20, refusals.Count);
        Assert.All(refusals, r => Assert.Equal("admin DELETE /kbs/v0/resource/{repository}/{type}/{tag}", r.Action));
        Assert.Single(summaries);
        Assert.StartsWith("981 further unauthenticated refusals", summaries[0].Reason, StringComparison.Ordinal);
        Assert.All(rows, r => Assert.True(r.Actor.Length + r.Action.Length + (r.Resource?.Length ?? 0) + r.Reason.Length < 3000, r.Reason));
        Assert.Equal(2, rows.Count(r => r.Kind == AuditKind.AdminChange && r.Action == "put"));
    }

    private static long DatabaseBytes(string dir) =>
        new[] { "broker.db", "broker.db-wal" }.Select(f => Path.Combine(dir, f)).Where(File.Exists).Sum(f => new FileInfo(f).Length);
}
