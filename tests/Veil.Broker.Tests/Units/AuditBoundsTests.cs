using Veil.Broker.Audit;
using Veil.Broker.Storage;

namespace Veil.Broker.Tests.Units;

/// <summary>Audit rows are bounded, unauthenticated refusals past the budget are counted, and pruning keeps what it must.</summary>
public sealed class AuditBoundsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("veil-audit-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
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
}
