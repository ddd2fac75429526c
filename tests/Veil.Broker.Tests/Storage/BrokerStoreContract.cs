using Veil.Broker.Storage;

namespace Veil.Broker.Tests.Storage;

/// <summary>
/// What every store must do, run against each backend (<see cref="SqliteStoreTests"/>, <see cref="PostgresStoreTests"/>):
/// exact values back, upserts, deletes, audit order and nulls, policy/reference-value versions, snapshots, reopen.
/// </summary>
public abstract class BrokerStoreContract : IAsyncLifetime
{
    internal static readonly DateTimeOffset At = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    internal IBrokerStore Store { get; private set; } = null!;

    public async Task InitializeAsync() => Store = await OpenAsync();

    public abstract Task DisposeAsync();

    /// <summary>Opens (and migrates) the store over the same backing data every time.</summary>
    internal abstract Task<IBrokerStore> OpenAsync();

    internal abstract int LatestSchema { get; }

    /// <summary>Writes a schema version newer than the broker knows, as a newer broker would have.</summary>
    internal abstract Task MarkSchemaAsync(int version);

    [Fact]
    public async Task Sealed_rows_page_in_name_order_and_are_replaced_only_while_unchanged()
    {
        foreach (var n in new[] { "r/t/c", "r/t/a", "r/t/b", "r/t/B", "r/t/d" })
        {
            await Store.PutResourceAsync(n, [(byte)n[^1]], At, CancellationToken.None);
        }

        var first = await Store.ListSealedResourcesAsync(null, 2, CancellationToken.None);
        var rest = await Store.ListSealedResourcesAsync(first[^1].Name, 10, CancellationToken.None);
        var all = first.Concat(rest).Select(r => r.Name).ToList();
        Assert.Equal(5, all.Distinct().Count());
        Assert.Equal(all.Order(StringComparer.Ordinal).Where(n => n != "r/t/B").ToList(), all.Where(n => n != "r/t/B").ToList());
        Assert.Equal(new byte[] { (byte)'a' }, first.Concat(rest).Single(r => r.Name == "r/t/a").SealedValue);

        Assert.True(await Store.ReplaceSealedValueAsync("r/t/a", [(byte)'a'], [1, 2, 3], CancellationToken.None));
        Assert.False(await Store.ReplaceSealedValueAsync("r/t/a", [(byte)'a'], [9], CancellationToken.None)); // no longer what was read
        Assert.False(await Store.ReplaceSealedValueAsync("r/t/none", [(byte)'a'], [9], CancellationToken.None));
        Assert.Equal(new byte[] { 1, 2, 3 }, await Store.GetResourceAsync("r/t/a", CancellationToken.None));
        Assert.Equal(At, (await Store.ListResourcesAsync(CancellationToken.None)).Single(r => r.Name == "r/t/a").UpdatedAt); // the value did not change
    }

    [Fact]
    public async Task Resources_round_trip_exactly_upsert_delete_and_list()
    {
        byte[] first = [0, 1, 2, 255], second = [9, 9];
        await Store.PutResourceAsync("repo/type/a", first, At, CancellationToken.None);
        await Store.PutResourceAsync("repo/type/b", [7], At, CancellationToken.None);
        Assert.Equal(first, await Store.GetResourceAsync("repo/type/a", CancellationToken.None));
        await Store.PutResourceAsync("repo/type/a", second, At.AddMinutes(1), CancellationToken.None);
        Assert.Equal(second, await Store.GetResourceAsync("repo/type/a", CancellationToken.None));
        Assert.Null(await Store.GetResourceAsync("repo/type/none", CancellationToken.None));

        var list = await Store.ListResourcesAsync(CancellationToken.None);
        Assert.Equal(["repo/type/a", "repo/type/b"], list.Select(r => r.Name));
        Assert.Equal(At.AddMinutes(1), list[0].UpdatedAt);

        Assert.True(await Store.DeleteResourceAsync("repo/type/a", CancellationToken.None));
        Assert.False(await Store.DeleteResourceAsync("repo/type/a", CancellationToken.None));
        Assert.Null(await Store.GetResourceAsync("repo/type/a", CancellationToken.None));
    }

    [Fact]
    public async Task Audit_keeps_order_nulls_and_limits()
    {
        await Store.AppendAuditAsync(new AuditEntry(At, "admin", "put", "a/b/c", null, "allowed", "first"), CancellationToken.None);
        await Store.AppendAuditBatchAsync(
            [new AuditEntry(At.AddSeconds(1), "tee:sample", "attest", null, "sha256:00", "denied", "second"),
             new AuditEntry(At.AddSeconds(2), "tee:sample", "release", "a/b/c", "sha256:00", "allowed", "third 'quoted' \u00e9")],
            CancellationToken.None);
        var all = await Store.ListAuditAsync(10, CancellationToken.None);
        Assert.Equal(["third 'quoted' \u00e9", "second", "first"], all.Select(e => e.Reason));
        Assert.Null(all[1].Resource);
        Assert.Null(all[2].EvidenceDigest);
        Assert.Equal(At.AddSeconds(2), all[0].At);
        Assert.Single(await Store.ListAuditAsync(1, CancellationToken.None));
    }

    [Fact]
    public async Task Concurrent_audit_records_are_all_stored_when_their_calls_return()
    {
        await using (var audit = new Veil.Broker.Audit.AuditLog(Store, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<Veil.Broker.Audit.AuditLog>.Instance))
        {
            await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(() =>
                audit.RecordAsync(Veil.Broker.Storage.AuditKind.Release, "tee:snp", "release", $"r/{i}/x", "sha256:00", "allowed", "test", CancellationToken.None))));
        }

        var reopened = await OpenAsync();
        var entries = await reopened.ListAuditAsync(1000, CancellationToken.None);
        Assert.Equal(200, entries.Select(e => e.Resource).Distinct().Count());
    }

    [Fact]
    public async Task Every_policy_and_reference_value_write_creates_the_next_version_seen_in_the_snapshot()
    {
        var v0 = await Store.ConfigVersionAsync(CancellationToken.None);
        var v1 = await Store.PutPolicyAsync("attestation", "p1", "body one", At, CancellationToken.None);
        var v2 = await Store.PutPolicyAsync("attestation", "p1", "body one, replaced", At, CancellationToken.None);
        var v3 = await Store.PutPolicyAsync("resource", "resource-policy", "rp", At, CancellationToken.None);
        var v4 = await Store.PutReferenceValueAsync("{\"first\":1}", At, CancellationToken.None);
        var v5 = await Store.PutReferenceValueAsync("{\"second\":2}", At.AddSeconds(1), CancellationToken.None);
        Assert.Equal([v0 + 1, v0 + 2, v0 + 3, v0 + 4, v0 + 5], new[] { v1, v2, v3, v4, v5 });
        Assert.Equal(v5, await Store.ConfigVersionAsync(CancellationToken.None));

        var snapshot = await Store.ReadPolicySnapshotAsync(CancellationToken.None);
        Assert.Equal(v5, snapshot.Version);
        Assert.Equal([("p1", "body one, replaced")], snapshot.AttestationPolicies);
        Assert.Equal([("resource-policy", "rp")], snapshot.ResourcePolicies);
        Assert.Equal(["{\"first\":1}", "{\"second\":2}"], snapshot.ReferenceValues.Select(r => r.Message));
        Assert.Equal(["p1"], await Store.ListPolicyIdsAsync("attestation", CancellationToken.None));
        Assert.Empty(await Store.ListPoliciesAsync("nothing", CancellationToken.None));
    }

    [Fact]
    public async Task Reopening_migrates_nothing_twice_and_keeps_the_data()
    {
        await Store.PutResourceAsync("a/b/c", [1, 2, 3], At, CancellationToken.None);
        var again = await OpenAsync();
        Assert.Equal(LatestSchema, await again.SchemaVersionAsync(CancellationToken.None));
        Assert.Equal(new byte[] { 1, 2, 3 }, await again.GetResourceAsync("a/b/c", CancellationToken.None));
        await again.PingAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Audit_rows_carry_subject_and_repository_and_a_tenant_reads_only_its_repositories()
    {
        await Store.AppendAuditBatchAsync(
            [new AuditEntry(At, "admin", "put", "acme/key/a", null, "allowed", "one", AuditKind.AdminChange, "alice@acme", "acme"),
             new AuditEntry(At.AddSeconds(1), "admin", "put", "other/key/a", null, "allowed", "two", AuditKind.AdminChange, "bob@other", "other"),
             new AuditEntry(At.AddSeconds(2), "admin", "set attestation-policy", "p1", null, "allowed", "three", AuditKind.AdminChange, "carol"),
             new AuditEntry(At.AddSeconds(3), "tee:snp", "release", "acme/key/a", "sha256:00", "allowed", "four", AuditKind.Release, Repository: "acme")],
            CancellationToken.None);
        var all = await Store.ListAuditAsync(10, null, CancellationToken.None);
        Assert.Equal(["tee:snp", "carol", "bob@other", "alice@acme"], all.Select(e => e.Subject));
        Assert.Equal(["acme", null, "other", "acme"], all.Select(e => e.Repository));
        var acme = await Store.ListAuditAsync(10, ["acme"], CancellationToken.None);
        Assert.Equal(["four", "one"], acme.Select(e => e.Reason));
        Assert.Equal(["four", "two", "one"], (await Store.ListAuditAsync(10, ["acme", "other"], CancellationToken.None)).Select(e => e.Reason));
        Assert.Empty(await Store.ListAuditAsync(10, [], CancellationToken.None));
        Assert.Single(await Store.ListAuditAsync(1, ["acme"], CancellationToken.None));
    }

    [Fact]
    public async Task A_step_missing_below_the_highest_applied_one_is_run_at_open()
    {
        // A store migrated while a lower version was still unassigned (5 before 4): dropping 3's record and its
        // column change stands in for such a step, which must run at the next open although 5 is applied.
        await Store.AppendAuditAsync(new AuditEntry(At, "admin", "put", "a/b/c", null, "allowed", "before", AuditKind.AdminChange, "alice", "a"), CancellationToken.None);
        await DropStepAsync(3, "DROP INDEX audit_retained_id; ALTER TABLE audit DROP COLUMN retained; ALTER TABLE audit DROP COLUMN kind;");
        var again = await OpenAsync();
        await again.AppendAuditAsync(new AuditEntry(At.AddSeconds(1), "tee:snp", "release", "a/b/c", null, "allowed", "after", AuditKind.Release, null, "a"), CancellationToken.None);
        var rows = await again.ListAuditAsync(10, ["a"], CancellationToken.None);
        Assert.Equal([AuditKind.Release, AuditKind.AdminChange], rows.Select(r => r.Kind));
        Assert.Equal(LatestSchema, await again.SchemaVersionAsync(CancellationToken.None));
    }

    /// <summary>Undoes a migration step and forgets it was applied, as a store migrated before that step existed.</summary>
    internal abstract Task DropStepAsync(int version, string undo);

    [Fact]
    public async Task A_schema_newer_than_this_broker_knows_is_refused_at_open()
    {
        await MarkSchemaAsync(LatestSchema + 1);
        var e = await Assert.ThrowsAsync<BrokerConfigurationException>(OpenAsync);
        Assert.Contains($"schema version {LatestSchema + 1}, newer than this broker knows ({LatestSchema})", e.Message, StringComparison.Ordinal);
    }
}

public sealed class SqliteStoreTests : BrokerStoreContract
{
    private readonly string _dir = Directory.CreateTempSubdirectory("veil-store-").FullName;

    internal override int LatestSchema => SqliteMigrations.Latest;

    internal override async Task<IBrokerStore> OpenAsync() => await SqliteBrokerStore.OpenAsync(_dir, CancellationToken.None);

    internal override async Task MarkSchemaAsync(int version)
    {
        await using var conn = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_dir, SqliteBrokerStore.FileName)}");
        await conn.OpenAsync();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = $"INSERT INTO schema_migrations(version, applied_at) VALUES ({version}, 'later');";
        await cmd.ExecuteNonQueryAsync();
    }

    internal override async Task DropStepAsync(int version, string undo)
    {
        await using var conn = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_dir, SqliteBrokerStore.FileName)}");
        await conn.OpenAsync();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = undo + $" DELETE FROM schema_migrations WHERE version = {version};";
        await cmd.ExecuteNonQueryAsync();
    }

    public override Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }
}

public sealed class PostgresStoreTests : BrokerStoreContract
{
    private readonly List<PostgresBrokerStore> _opened = [];
    private Support.PostgresTestDatabase? _db;

    internal override int LatestSchema => PostgresMigrations.Latest;

    internal override async Task<IBrokerStore> OpenAsync()
    {
        _db ??= await Support.PostgresTestServer.CreateDatabaseAsync();
        var store = await PostgresBrokerStore.OpenAsync(_db.Location, CancellationToken.None);
        _opened.Add(store);
        return store;
    }

    internal override Task MarkSchemaAsync(int version) => _db!.ExecAsync($"INSERT INTO schema_migrations (version, applied_at) VALUES ({version}, now());");

    internal override Task DropStepAsync(int version, string undo) => _db!.ExecAsync(undo + $" DELETE FROM schema_migrations WHERE version = {version};");

    public override async Task DisposeAsync()
    {
        foreach (var s in _opened)
        {
            await s.DisposeAsync();
        }

        if (_db is not null)
        {
            await _db.DisposeAsync();
        }
    }

    [Fact]
    public async Task Replicas_starting_together_migrate_once_under_the_advisory_lock()
    {
        await using var fresh = await Support.PostgresTestServer.CreateDatabaseAsync();
        var stores = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => PostgresBrokerStore.OpenAsync(fresh.Location, CancellationToken.None))));
        try
        {
            Assert.Equal((long)PostgresMigrations.Steps.Count, await fresh.ScalarAsync<long>("SELECT COUNT(*) FROM schema_migrations;"));
            Assert.All(await Task.WhenAll(stores.Select(s => s.SchemaVersionAsync(CancellationToken.None))), v => Assert.Equal(PostgresMigrations.Latest, v));
            // What one replica writes, another reads: they share the database.
            await stores[0].PutResourceAsync("x/y/z", [4, 2], At, CancellationToken.None);
            Assert.Equal(new byte[] { 4, 2 }, await stores[5].GetResourceAsync("x/y/z", CancellationToken.None));
            // The pool's connections go back without a reset (NoResetOnClose): the migration lock was released by the
            // broker itself, not by a DISCARD ALL, so none of the six pools' idle connections still holds it.
            Assert.Equal(0L, await fresh.ScalarAsync<long>($"SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = {PostgresMigrations.AdvisoryLockKey & 0xFFFFFFFF};"));
        }
        finally
        {
            foreach (var s in stores)
            {
                await s.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Sessions_are_unlogged_and_keyed_by_the_hash_of_the_id()
    {
        Assert.Equal("u", (await _db!.ScalarAsync<char>("SELECT relpersistence FROM pg_class WHERE relname = 'rcar_sessions';")).ToString());
        Assert.Equal("p", (await _db.ScalarAsync<char>("SELECT relpersistence FROM pg_class WHERE relname = 'resources';")).ToString());
    }
}
