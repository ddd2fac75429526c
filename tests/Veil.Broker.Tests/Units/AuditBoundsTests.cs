using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Veil.Broker.Audit;
using Veil.Broker.Storage;

namespace Veil.Broker.Tests.Units;

/// <summary>
/// Audit rows are bounded, unauthenticated refusals past the budget are counted, pruning keeps what it must, and the
/// queue has a cap: a stalled disk makes requests wait to enqueue instead of piling rows up in memory.
/// </summary>
public sealed class AuditBoundsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("veil-audit-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Long_fields_are_cut_with_their_length_recorded()
    {
        var path = "admin DELETE /kbs/v0/resource/" + new string('A', 7800);
        var e = AuditBounds.Bound(new AuditEntry(DateTimeOffset.UtcNow, "anonymous", path, new string('r', 5000), null, AuditLog.Denied, new string('w', 100_000)));
        Assert.True(e.Action.Length <= AuditBounds.Action, e.Action);
        Assert.EndsWith($"[truncated, {path.Length} chars]", e.Action, StringComparison.Ordinal);
        Assert.StartsWith("admin DELETE /kbs/v0/resource/AAAA", e.Action, StringComparison.Ordinal);
        Assert.True(e.Resource!.Length <= AuditBounds.Resource);
        Assert.EndsWith("[truncated, 100000 chars]", e.Reason, StringComparison.Ordinal);
        Assert.True(e.Reason.Length <= AuditBounds.Reason);
        Assert.Equal("short", AuditBounds.Cut("short", 10));
        // A surrogate pair is never split.
        var emoji = new string('x', 99) + "\U0001F600" + new string('y', 100);
        var cut = AuditBounds.Cut(emoji, 100 + "…[truncated, 201 chars]".Length);
        Assert.Equal(new string('x', 99), cut[..cut.IndexOf('…', StringComparison.Ordinal)]);
    }

    [Fact]
    public void Refusals_past_the_budget_are_counted_into_one_summary_per_actor_and_action()
    {
        var aggregator = new RefusalAggregator(budget: 3, window: TimeSpan.FromMinutes(1));
        var t0 = DateTimeOffset.UtcNow;
        var summaries = new List<AuditEntry>();
        var admitted = 0;
        for (var i = 0; i < 10; i++)
        {
            admitted += aggregator.Admit(Refusal(t0.AddSeconds(i), "admin DELETE /kbs/v0/resource/{repository}/{type}/{tag}"), summaries) ? 1 : 0;
        }

        for (var i = 0; i < 4; i++)
        {
            admitted += aggregator.Admit(Refusal(t0.AddSeconds(20), "attest"), summaries) ? 1 : 0;
        }

        Assert.Equal(3, admitted);
        Assert.Empty(summaries);
        Assert.Empty(aggregator.Flush(t0.AddSeconds(30)));
        var flushed = aggregator.Flush(t0.AddSeconds(61));
        Assert.Equal(2, flushed.Count);
        Assert.All(flushed, s => Assert.Equal(AuditKind.Summary, s.Kind));
        Assert.StartsWith("7 further unauthenticated refusals", flushed[0].Reason, StringComparison.Ordinal);
        Assert.StartsWith("4 further unauthenticated refusals", flushed[1].Reason, StringComparison.Ordinal);

        // A new window has a new budget.
        Assert.True(aggregator.Admit(Refusal(t0.AddSeconds(62), "attest"), summaries));
    }

    [Fact]
    public async Task Pruning_drops_old_rows_and_excess_refusals_but_keeps_releases_and_admin_changes_in_the_window()
    {
        var store = await SqliteBrokerStore.OpenAsync(_dir, CancellationToken.None);
        var now = DateTimeOffset.UtcNow;
        var entries = new List<AuditEntry>
        {
            new(now.AddDays(-100), "tee:snp", "release", "a/b/c", "sha256:old", AuditLog.Allowed, "old release", AuditKind.Release),
            new(now.AddDays(-100), "anonymous", "admin GET /veil/v0/resources", null, null, AuditLog.Denied, "old refusal", AuditKind.Unauthenticated),
        };
        for (var i = 0; i < 50; i++)
        {
            entries.Add(new(now.AddMinutes(-50 + i), "anonymous", "admin GET /veil/v0/resources", null, null, AuditLog.Denied, $"refusal {i}", AuditKind.Unauthenticated));
            if (i % 10 == 0)
            {
                entries.Add(new(now.AddMinutes(-50 + i), "tee:snp", "release", "a/b/c", "sha256:x", AuditLog.Allowed, $"release {i}", AuditKind.Release));
                entries.Add(new(now.AddMinutes(-50 + i), "admin", "put", "a/b/c", null, AuditLog.Allowed, $"put {i}", AuditKind.AdminChange));
            }
        }

        await store.AppendAuditBatchAsync(entries, CancellationToken.None);
        var deleted = await store.PruneAuditAsync(new AuditPrune(now.AddDays(-90), KeepPrunable: 5), CancellationToken.None);
        var left = await store.ListAuditAsync(1000, CancellationToken.None);
        Assert.Equal(2 + 45, deleted);
        Assert.Equal(5 + 5, left.Count(e => e.Retained));
        Assert.Equal(["refusal 45", "refusal 46", "refusal 47", "refusal 48", "refusal 49"], left.Where(e => !e.Retained).Select(e => e.Reason).Reverse());
        Assert.DoesNotContain(left, e => e.Reason.StartsWith("old", StringComparison.Ordinal));
        Assert.Equal(AuditKind.Release, left.First(e => e.Action == "release").Kind);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task The_store_and_its_wal_and_shm_files_are_owner_only()
    {
        var store = await SqliteBrokerStore.OpenAsync(_dir, CancellationToken.None);
        await store.AppendAuditAsync(Refusal(DateTimeOffset.UtcNow, "attest"), CancellationToken.None);
        foreach (var f in new[] { "broker.db", "broker.db-wal", "broker.db-shm" })
        {
            var path = Path.Combine(_dir, f);
            Assert.True(File.Exists(path), f);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
    }

    private static AuditEntry Refusal(DateTimeOffset at, string action) =>
        new(at, "anonymous", action, null, null, AuditLog.Denied, "admin endpoint requires 'Authorization: Bearer <admin JWT>'", AuditKind.Unauthenticated);

    [Fact]
    public async Task A_writer_stalled_by_a_locked_database_holds_at_most_the_cap_and_every_entry_lands_once_it_moves()
    {
        var store = await SqliteBrokerStore.OpenAsync(_dir, CancellationToken.None);
        await using var audit = new AuditLog(store, TimeProvider.System, NullLogger<AuditLog>.Instance);

        // Another writer holds the database: the audit's commit waits on SQLite's busy handler (the lowest layer).
        await using var blocker = new SqliteConnection($"Data Source={Path.Combine(_dir, SqliteBrokerStore.FileName)}");
        await blocker.OpenAsync();
        await using (var begin = blocker.CreateCommand())
        {
            begin.CommandText = "BEGIN EXCLUSIVE;";
            await begin.ExecuteNonQueryAsync();
        }

        const int n = AuditLog.QueueCapacity + 1500;
        var writes = Enumerable.Range(0, n)
            .Select(i => Task.Run(() => audit.RecordAsync(AuditKind.Decision, "tee:sample", "attest", null, "sha256:" + i, AuditLog.Allowed, "entry " + i, CancellationToken.None)))
            .ToList();

        var until = DateTime.UtcNow.AddSeconds(20);
        while (audit.Queued < AuditLog.QueueCapacity && DateTime.UtcNow < until)
        {
            await Task.Delay(20);
        }

        await Task.Delay(300); // the callers past the cap had time to push further, were there room
        Assert.Equal(AuditLog.QueueCapacity, audit.Queued);
        Assert.Equal(0, writes.Count(w => w.IsCompleted));

        await using (var rollback = blocker.CreateCommand())
        {
            rollback.CommandText = "ROLLBACK;";
            await rollback.ExecuteNonQueryAsync();
        }

        await Task.WhenAll(writes).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(0, audit.Queued);
        await using var count = blocker.CreateCommand();
        count.CommandText = "SELECT COUNT(*), COUNT(DISTINCT evidence_digest) FROM audit WHERE action = 'attest';";
        await using var r = await count.ExecuteReaderAsync();
        Assert.True(await r.ReadAsync());
        Assert.Equal((n, n), (r.GetInt64(0), r.GetInt64(1)));
    }
}
