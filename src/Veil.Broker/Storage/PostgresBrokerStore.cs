using System.Data;
using Npgsql;
using NpgsqlTypes;

namespace Veil.Broker.Storage;

/// <summary>
/// PostgreSQL store shared by every broker replica (Npgsql, pooled). Each write is one statement or one transaction
/// and is durable when it returns (the server's synchronous_commit decides how; the default waits for the WAL
/// flush). A failure to reach the server becomes <see cref="StoreUnavailableException"/>. Policy and reference-value
/// writes bump <c>config_version</c> and NOTIFY <see cref="PostgresMigrations.ConfigChannel"/> in the same
/// statement, so every replica learns of them at commit.
/// </summary>
internal sealed class PostgresBrokerStore : IBrokerStore, IAsyncDisposable
{
    private const string BumpAndNotify =
        "v AS (UPDATE config_version SET version = version + 1 RETURNING version) SELECT version, pg_notify('" + PostgresMigrations.ConfigChannel + "', version::text) FROM v";

    private readonly NpgsqlDataSource _dataSource;

    private PostgresBrokerStore(NpgsqlDataSource dataSource, StoreLocation location)
    {
        _dataSource = dataSource;
        Location = location;
    }

    public string Kind => "postgresql";

    public StoreLocation Location { get; }

    /// <summary>
    /// Opens the pool and migrates under the advisory lock; refuses a schema newer than this broker's. A server that is
    /// not reachable yet (a replica starting while PostgreSQL restarts, or under heavy load) is waited for up to
    /// <paramref name="wait"/>; a refusal (wrong password, no such database, newer schema) stops the start at once.
    /// </summary>
    public static async Task<PostgresBrokerStore> OpenAsync(StoreLocation location, CancellationToken ct, TimeSpan? wait = null)
    {
        var until = DateTimeOffset.UtcNow + (wait ?? TimeSpan.Zero);
        for (var delay = TimeSpan.FromMilliseconds(200); ; delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.TicksPerSecond * 2)))
        {
            try
            {
                return await OpenOnceAsync(location, ct).ConfigureAwait(false);
            }
            catch (StoreUnavailableException) when (DateTimeOffset.UtcNow + delay < until)
            {
                await Task.Delay(delay, ct).ConfigureAwait(false);
            }
            catch (StoreUnavailableException e)
            {
                throw new BrokerConfigurationException($"store {location.Display}: cannot open ({e.Message})");
            }
        }
    }

    private static async Task<PostgresBrokerStore> OpenOnceAsync(StoreLocation location, CancellationToken ct)
    {
        var dataSource = NpgsqlDataSource.Create(location.PostgresConnectionString!);
        try
        {
            await using var conn = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
            await ExecAsync(conn, null, $"SELECT pg_advisory_lock({PostgresMigrations.AdvisoryLockKey});", ct).ConfigureAwait(false);
            try
            {
                await ExecAsync(conn, null, "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL);", ct).ConfigureAwait(false);
                var applied = new List<int>();
                await using (var read = new NpgsqlCommand("SELECT version FROM schema_migrations;", conn))
                await using (var rows = await read.ExecuteReaderAsync(ct).ConfigureAwait(false))
                {
                    while (await rows.ReadAsync(ct).ConfigureAwait(false))
                    {
                        applied.Add(rows.GetInt32(0));
                    }
                }

                var pending = SchemaCheck.Pending("PostgreSQL store " + location.Display, applied, PostgresMigrations.Steps.Select(s => s.Version));
                foreach (var (version, sql) in PostgresMigrations.Steps.Where(s => pending.Contains(s.Version)).OrderBy(s => s.Version))
                {
                    await using var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
                    await ExecAsync(conn, tx, sql, ct).ConfigureAwait(false);
                    await using (var cmd = new NpgsqlCommand("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now());", conn, tx))
                    {
                        cmd.Parameters.Add(new NpgsqlParameter { Value = version });
                        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                    }

                    await tx.CommitAsync(ct).ConfigureAwait(false);
                }
            }
            finally
            {
                if (conn.State == ConnectionState.Open)
                {
                    await ExecAsync(conn, null, $"SELECT pg_advisory_unlock({PostgresMigrations.AdvisoryLockKey});", CancellationToken.None).ConfigureAwait(false);
                }
            }

            return new PostgresBrokerStore(dataSource, location);
        }
        catch (Exception e) when (PostgresFaults.IsUnavailable(e))
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
            throw new StoreUnavailableException(PostgresFaults.Describe(e), e);
        }
        catch (PostgresException e)
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
            throw new BrokerConfigurationException($"store {location.Display}: cannot open (PostgreSQL answered {e.SqlState}: {e.MessageText})");
        }
        catch
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A connection string for one long-lived LISTEN connection (no pool; TCP keepalive finds a dead peer).</summary>
    internal string ListenerConnectionString => new NpgsqlConnectionStringBuilder(Location.PostgresConnectionString!)
    {
        Pooling = false,
        KeepAlive = 5,
        ApplicationName = "veil-broker-listen",
    }.ConnectionString;

    /// <summary>Runs work on a pooled connection; a store outage becomes <see cref="StoreUnavailableException"/>.</summary>
    internal async Task<T> RunAsync<T>(Func<NpgsqlConnection, CancellationToken, Task<T>> work, CancellationToken ct)
    {
        try
        {
            await using var conn = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
            return await work(conn, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (!ct.IsCancellationRequested && (PostgresFaults.IsUnavailable(e) || PostgresFaults.IsRefusedWhileServing(e)))
        {
            // The idle connections in the pool went down with this one (server restarted, path cut): drop them, so
            // that requests after the recovery do not each discover a dead connection with a 503 of their own.
            _dataSource.Clear();
            throw new StoreUnavailableException(PostgresFaults.Describe(e), e);
        }
    }

    public Task<int> SchemaVersionAsync(CancellationToken ct) => RunAsync(SchemaVersionAsync, ct);

    public Task PingAsync(CancellationToken ct) => RunAsync(async (c, t) =>
    {
        await ExecAsync(c, null, "SELECT 1;", t).ConfigureAwait(false);
        return true;
    }, ct);

    public Task<long> ConfigVersionAsync(CancellationToken ct) => RunAsync(async (c, t) =>
    {
        await using var cmd = new NpgsqlCommand("SELECT version FROM config_version;", c);
        return (long)(await cmd.ExecuteScalarAsync(t).ConfigureAwait(false))!;
    }, ct);

    public Task PutResourceAsync(string name, byte[] sealedValue, DateTimeOffset at, CancellationToken ct) => RunAsync(async (c, t) =>
    {
        await using var cmd = new NpgsqlCommand(
            "INSERT INTO resources (name, sealed_value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET sealed_value = excluded.sealed_value, updated_at = excluded.updated_at;", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = name });
        cmd.Parameters.Add(new NpgsqlParameter { Value = sealedValue });
        cmd.Parameters.Add(new NpgsqlParameter { Value = at.ToUniversalTime() });
        return await cmd.ExecuteNonQueryAsync(t).ConfigureAwait(false);
    }, ct);

    public Task<byte[]?> GetResourceAsync(string name, CancellationToken ct) => RunAsync(async (c, t) =>
    {
        await using var cmd = new NpgsqlCommand("SELECT sealed_value FROM resources WHERE name = $1;", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = name });
        return await cmd.ExecuteScalarAsync(t).ConfigureAwait(false) as byte[];
    }, ct);

    public Task<bool> DeleteResourceAsync(string name, CancellationToken ct) => RunAsync(async (c, t) =>
    {
        await using var cmd = new NpgsqlCommand("DELETE FROM resources WHERE name = $1;", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = name });
        return await cmd.ExecuteNonQueryAsync(t).ConfigureAwait(false) > 0;
    }, ct);

    public Task<IReadOnlyList<ResourceInfo>> ListResourcesAsync(CancellationToken ct) => RunAsync<IReadOnlyList<ResourceInfo>>(async (c, t) =>
    {
        await using var cmd = new NpgsqlCommand("SELECT name, updated_at FROM resources ORDER BY name;", c);
        var list = new List<ResourceInfo>();
        await using var r = await cmd.ExecuteReaderAsync(t).ConfigureAwait(false);
        while (await r.ReadAsync(t).ConfigureAwait(false))
        {
            list.Add(new ResourceInfo(r.GetString(0), r.GetFieldValue<DateTimeOffset>(1)));
        }

        return list;
    }, ct);

    public Task<IReadOnlyList<(string Name, byte[] SealedValue)>> ListSealedResourcesAsync(string? after, int limit, CancellationToken ct) => RunAsync<IReadOnlyList<(string, byte[])>>(async (c, t) =>
    {
        // Keyset paging in the column's own (deterministic) collation: the primary key's index serves both the
        // comparison and the order, and the pages need agree only with each other.
        await using var cmd = new NpgsqlCommand("SELECT name, sealed_value FROM resources WHERE name > $1 ORDER BY name LIMIT $2;", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = after ?? "" });
        cmd.Parameters.Add(new NpgsqlParameter { Value = limit });
        var list = new List<(string, byte[])>();
        await using var r = await cmd.ExecuteReaderAsync(t).ConfigureAwait(false);
        while (await r.ReadAsync(t).ConfigureAwait(false))
        {
            list.Add((r.GetString(0), r.GetFieldValue<byte[]>(1)));
        }

        return list;
    }, ct);

    public Task<bool> ReplaceSealedValueAsync(string name, byte[] expected, byte[] replacement, CancellationToken ct) => RunAsync(async (c, t) =>
    {
        await using var cmd = new NpgsqlCommand("UPDATE resources SET sealed_value = $3 WHERE name = $1 AND sealed_value = $2;", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = name });
        cmd.Parameters.Add(new NpgsqlParameter { Value = expected });
        cmd.Parameters.Add(new NpgsqlParameter { Value = replacement });
        return await cmd.ExecuteNonQueryAsync(t).ConfigureAwait(false) == 1;
    }, ct);

    public Task AppendAuditAsync(AuditEntry entry, CancellationToken ct) => AppendAuditBatchAsync([entry], ct);

    /// <summary>One INSERT over arrays: the whole batch in one statement, one round trip, one commit.</summary>
    public Task AppendAuditBatchAsync(IReadOnlyList<AuditEntry> entries, CancellationToken ct) => RunAsync(async (c, t) =>
    {
        await using var cmd = new NpgsqlCommand(
            "INSERT INTO audit (at, actor, action, resource, evidence_digest, outcome, reason, kind, retained, subject, repository) SELECT * FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11);", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = entries.Select(e => e.At.ToUniversalTime()).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(TextArray(entries.Select(e => e.Actor)));
        cmd.Parameters.Add(TextArray(entries.Select(e => e.Action)));
        cmd.Parameters.Add(TextArray(entries.Select(e => e.Resource)));
        cmd.Parameters.Add(TextArray(entries.Select(e => e.EvidenceDigest)));
        cmd.Parameters.Add(TextArray(entries.Select(e => e.Outcome)));
        cmd.Parameters.Add(TextArray(entries.Select(e => e.Reason)));
        cmd.Parameters.Add(TextArray(entries.Select(e => SqliteBrokerStore.KindName(e.Kind))));
        cmd.Parameters.Add(new NpgsqlParameter { Value = entries.Select(e => e.Retained).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Boolean });
        cmd.Parameters.Add(TextArray(entries.Select(e => e.SubjectOrActor)));
        cmd.Parameters.Add(TextArray(entries.Select(e => e.Repository)));
        return await cmd.ExecuteNonQueryAsync(t).ConfigureAwait(false);
    }, ct);

    public Task<IReadOnlyList<AuditEntry>> ListAuditAsync(int limit, CancellationToken ct) => ListAuditAsync(limit, null, ct);

    public Task<IReadOnlyList<AuditEntry>> ListAuditAsync(int limit, IReadOnlyCollection<string>? repositories, CancellationToken ct) => RunAsync<IReadOnlyList<AuditEntry>>(async (c, t) =>
    {
        var where = repositories is null ? "" : "WHERE repository = ANY($2) ";
        await using var cmd = new NpgsqlCommand(
            "SELECT at, actor, action, resource, evidence_digest, outcome, reason, kind, subject, repository FROM audit " + where + "ORDER BY id DESC LIMIT $1;", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = limit });
        if (repositories is not null)
        {
            cmd.Parameters.Add(TextArray(repositories));
        }

        var list = new List<AuditEntry>();
        await using var r = await cmd.ExecuteReaderAsync(t).ConfigureAwait(false);
        while (await r.ReadAsync(t).ConfigureAwait(false))
        {
            list.Add(new AuditEntry(
                r.GetFieldValue<DateTimeOffset>(0), r.GetString(1), r.GetString(2),
                r.IsDBNull(3) ? null : r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4), r.GetString(5), r.GetString(6), SqliteBrokerStore.KindOf(r.GetString(7)),
                r.GetString(8), r.IsDBNull(9) ? null : r.GetString(9)));
        }

        return list;
    }, ct);

    /// <summary>As SQLite's: rows older than the window go, then the oldest prunable rows beyond the newest KeepPrunable.</summary>
    public Task<int> PruneAuditAsync(AuditPrune prune, CancellationToken ct) => RunAsync(async (c, t) =>
    {
        await using var tx = await c.BeginTransactionAsync(t).ConfigureAwait(false);
        await using var cmd = new NpgsqlCommand("DELETE FROM audit WHERE at < $1;", c, tx);
        cmd.Parameters.Add(new NpgsqlParameter { Value = prune.Before.ToUniversalTime() });
        var deleted = await cmd.ExecuteNonQueryAsync(t).ConfigureAwait(false);
        await using var cap = new NpgsqlCommand(
            "DELETE FROM audit WHERE NOT retained AND id <= (SELECT id FROM audit WHERE NOT retained ORDER BY id DESC LIMIT 1 OFFSET $1);", c, tx);
        cap.Parameters.Add(new NpgsqlParameter { Value = prune.KeepPrunable });
        deleted += await cap.ExecuteNonQueryAsync(t).ConfigureAwait(false);
        await tx.CommitAsync(t).ConfigureAwait(false);
        return deleted;
    }, ct);

    public Task<long> PutPolicyAsync(string kind, string id, string body, DateTimeOffset at, CancellationToken ct) => RunAsync(async (c, t) =>
    {
        await using var cmd = new NpgsqlCommand(
            "WITH p AS (INSERT INTO policies (kind, id, body, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at), " + BumpAndNotify + ";", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = kind });
        cmd.Parameters.Add(new NpgsqlParameter { Value = id });
        cmd.Parameters.Add(new NpgsqlParameter { Value = body });
        cmd.Parameters.Add(new NpgsqlParameter { Value = at.ToUniversalTime() });
        return (long)(await cmd.ExecuteScalarAsync(t).ConfigureAwait(false))!;
    }, ct);

    public Task<long> PutReferenceValueAsync(string message, DateTimeOffset at, CancellationToken ct) => RunAsync(async (c, t) =>
    {
        await using var cmd = new NpgsqlCommand("WITH r AS (INSERT INTO reference_values (message, added_at) VALUES ($1, $2)), " + BumpAndNotify + ";", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = message });
        cmd.Parameters.Add(new NpgsqlParameter { Value = at.ToUniversalTime() });
        return (long)(await cmd.ExecuteScalarAsync(t).ConfigureAwait(false))!;
    }, ct);

    public Task<IReadOnlyList<string>> ListPolicyIdsAsync(string kind, CancellationToken ct) => RunAsync(async (c, t) =>
        (IReadOnlyList<string>)(await ListPoliciesAsync(c, null, kind, t).ConfigureAwait(false)).Select(p => p.Id).ToList(), ct);

    public Task<IReadOnlyList<(string Id, string Body)>> ListPoliciesAsync(string kind, CancellationToken ct) =>
        RunAsync((c, t) => ListPoliciesAsync(c, null, kind, t), ct);

    public Task<IReadOnlyList<(string Message, DateTimeOffset AddedAt)>> ListReferenceValuesAsync(CancellationToken ct) =>
        RunAsync((c, t) => ListReferenceValuesAsync(c, null, t), ct);

    /// <summary>One REPEATABLE READ transaction: the version and the rows it describes agree.</summary>
    public Task<PolicySnapshot> ReadPolicySnapshotAsync(CancellationToken ct) => RunAsync(async (c, t) =>
    {
        await using var tx = await c.BeginTransactionAsync(IsolationLevel.RepeatableRead, t).ConfigureAwait(false);
        long version;
        await using (var cmd = new NpgsqlCommand("SELECT version FROM config_version;", c, tx))
        {
            version = (long)(await cmd.ExecuteScalarAsync(t).ConfigureAwait(false))!;
        }

        var snapshot = new PolicySnapshot(
            version,
            await ListPoliciesAsync(c, tx, "attestation", t).ConfigureAwait(false),
            await ListPoliciesAsync(c, tx, "resource", t).ConfigureAwait(false),
            await ListReferenceValuesAsync(c, tx, t).ConfigureAwait(false));
        await tx.CommitAsync(t).ConfigureAwait(false);
        return snapshot;
    }, ct);

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    private static async Task<IReadOnlyList<(string Id, string Body)>> ListPoliciesAsync(NpgsqlConnection c, NpgsqlTransaction? tx, string kind, CancellationToken t)
    {
        await using var cmd = new NpgsqlCommand("SELECT id, body FROM policies WHERE kind = $1 ORDER BY id;", c, tx);
        cmd.Parameters.Add(new NpgsqlParameter { Value = kind });
        var list = new List<(string, string)>();
        await using var r = await cmd.ExecuteReaderAsync(t).ConfigureAwait(false);
        while (await r.ReadAsync(t).ConfigureAwait(false))
        {
            list.Add((r.GetString(0), r.GetString(1)));
        }

        return list;
    }

    private static async Task<IReadOnlyList<(string Message, DateTimeOffset AddedAt)>> ListReferenceValuesAsync(NpgsqlConnection c, NpgsqlTransaction? tx, CancellationToken t)
    {
        await using var cmd = new NpgsqlCommand("SELECT message, added_at FROM reference_values ORDER BY id;", c, tx);
        var list = new List<(string, DateTimeOffset)>();
        await using var r = await cmd.ExecuteReaderAsync(t).ConfigureAwait(false);
        while (await r.ReadAsync(t).ConfigureAwait(false))
        {
            list.Add((r.GetString(0), r.GetFieldValue<DateTimeOffset>(1)));
        }

        return list;
    }

    private static async Task<int> SchemaVersionAsync(NpgsqlConnection c, CancellationToken t)
    {
        await using var cmd = new NpgsqlCommand("SELECT COALESCE(MAX(version), 0) FROM schema_migrations;", c);
        return (int)(await cmd.ExecuteScalarAsync(t).ConfigureAwait(false))!;
    }

    private static async Task ExecAsync(NpgsqlConnection c, NpgsqlTransaction? tx, string sql, CancellationToken t)
    {
        await using var cmd = new NpgsqlCommand(sql, c, tx);
        await cmd.ExecuteNonQueryAsync(t).ConfigureAwait(false);
    }

    private static NpgsqlParameter TextArray(IEnumerable<string?> values) =>
        new() { Value = values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };
}
