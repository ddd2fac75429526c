using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Veil.Broker.Audit;
using Veil.Broker.Storage;

namespace Veil.Broker.Tests.Units;

/// <summary>The audit queue has a cap: a stalled disk makes requests wait to enqueue instead of piling rows up in memory.</summary>
public sealed class AuditQueueTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("veil-auditq-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

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
