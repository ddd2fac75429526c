using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Veil.Broker.Storage;

/// <summary>
/// SQLite store in <c>&lt;data-dir&gt;/broker.db</c>: WAL journal, synchronous=FULL (a write acknowledged to a
/// client survives a crash of the process or the machine), versioned migrations. One broker process owns the file,
/// so the configuration version lives in memory: no other writer can change policies behind this process's back.
/// </summary>
internal sealed class SqliteBrokerStore : IBrokerStore
{
    public const string FileName = "broker.db";
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly string _connectionString;
    private long _configVersion;

    private SqliteBrokerStore(string connectionString)
    {
        _connectionString = connectionString;
    }

    /// <summary>
    /// Opens (creating or migrating) the store. A file or disk the broker cannot use at start (not a database, corrupt,
    /// read-only, full, locked by another process) is a <see cref="BrokerConfigurationException"/> naming the file and
    /// the fault, so the operator reads what to fix instead of an internal error; the broker does not start on it.
    /// </summary>
    public static async Task<SqliteBrokerStore> OpenAsync(string dataDir, CancellationToken ct)
    {
        var path = Path.Combine(dataDir, FileName);
        try
        {
            return await OpenCheckedAsync(path, ct).ConfigureAwait(false);
        }
        catch (SqliteException e) when (SqliteFaults.IsUnavailable(e))
        {
            // The operator's own path: this goes to the CLI and the start-up log, never to a client.
            throw new BrokerConfigurationException($"SQLite store {path}: {SqliteFaults.Describe(e)} (result code {e.SqliteErrorCode}); {SqliteFaults.Remedy(e)}", e);
        }
    }

    private static async Task<SqliteBrokerStore> OpenCheckedAsync(string path, CancellationToken ct)
    {
        CreateOwnerOnly(path);
        var cs = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true, DefaultTimeout = 30 }.ToString();
        var store = new SqliteBrokerStore(cs);
        await using var conn = await store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await ExecAsync(conn, "PRAGMA journal_mode=WAL;", ct).ConfigureAwait(false);
        await ExecAsync(conn, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);", ct).ConfigureAwait(false);
        var applied = new List<int>();
        await using (var read = conn.CreateCommand())
        {
            read.CommandText = "SELECT version FROM schema_migrations;";
            await using var rows = await read.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await rows.ReadAsync(ct).ConfigureAwait(false))
            {
                applied.Add(rows.GetInt32(0));
            }
        }

        var pending = SchemaCheck.Pending("SQLite store " + path, applied, SqliteMigrations.Steps.Select(s => s.Version));
        foreach (var (version, sql) in SqliteMigrations.Steps.Where(s => pending.Contains(s.Version)).OrderBy(s => s.Version))
        {
            await using var tx = (SqliteTransaction)await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
            await using (var cmd = conn.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = sql;
                await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                cmd.CommandText = "INSERT INTO schema_migrations(version, applied_at) VALUES ($v, $t);";
                cmd.Parameters.AddWithValue("$v", version);
                cmd.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToString("O"));
                await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }

            await tx.CommitAsync(ct).ConfigureAwait(false);
        }

        // SQLite gives its -wal and -shm files the database file's mode; files left by an older build are fixed here.
        foreach (var f in new[] { path, path + "-wal", path + "-shm", path + "-journal" })
        {
            if (!OperatingSystem.IsWindows() && File.Exists(f))
            {
                File.SetUnixFileMode(f, OwnerOnly);
            }
        }

        return store;
    }

    /// <summary>
    /// An empty file is a valid new database: creating it 0600 before SQLite opens it means neither it nor the -wal
    /// and -shm files SQLite makes beside it (with the same mode) are ever readable by others, whatever the umask.
    /// </summary>
    private static void CreateOwnerOnly(string path)
    {
        if (OperatingSystem.IsWindows() || File.Exists(path))
        {
            return;
        }

        using var _ = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = OwnerOnly });
    }

    public string Kind => "sqlite";

    public Task<long> ConfigVersionAsync(CancellationToken ct) => Task.FromResult(Interlocked.Read(ref _configVersion));

    public Task PingAsync(CancellationToken ct) => RunAsync(async conn =>
    {
        await ExecAsync(conn, "SELECT 1;", ct).ConfigureAwait(false);
    }, ct);

    public async Task<PolicySnapshot> ReadPolicySnapshotAsync(CancellationToken ct)
    {
        var version = Interlocked.Read(ref _configVersion);
        return new PolicySnapshot(
            version,
            await ListPoliciesAsync("attestation", ct).ConfigureAwait(false),
            await ListPoliciesAsync("resource", ct).ConfigureAwait(false),
            await ListReferenceValuesAsync(ct).ConfigureAwait(false));
    }

    public Task<int> SchemaVersionAsync(CancellationToken ct) => RunAsync(async conn =>
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations;";
        return Convert.ToInt32(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }, ct);

    public Task PutResourceAsync(string name, byte[] sealedValue, DateTimeOffset at, CancellationToken ct) => RunAsync(async conn =>
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "INSERT INTO resources(name, sealed_value, updated_at) VALUES ($n, $v, $t) ON CONFLICT(name) DO UPDATE SET sealed_value = excluded.sealed_value, updated_at = excluded.updated_at;";
        cmd.Parameters.AddWithValue("$n", name);
        cmd.Parameters.AddWithValue("$v", sealedValue);
        cmd.Parameters.AddWithValue("$t", at.ToString("O"));
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }, ct);

    public Task<byte[]?> GetResourceAsync(string name, CancellationToken ct) => RunAsync(async conn =>
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT sealed_value FROM resources WHERE name = $n;";
        cmd.Parameters.AddWithValue("$n", name);
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) as byte[];
    }, ct);

    public Task<bool> DeleteResourceAsync(string name, CancellationToken ct) => RunAsync(async conn =>
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "DELETE FROM resources WHERE name = $n;";
        cmd.Parameters.AddWithValue("$n", name);
        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false) > 0;
    }, ct);

    public Task<IReadOnlyList<ResourceInfo>> ListResourcesAsync(CancellationToken ct) => RunAsync<IReadOnlyList<ResourceInfo>>(async conn =>
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT name, updated_at FROM resources ORDER BY name;";
        var list = new List<ResourceInfo>();
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(new ResourceInfo(r.GetString(0), DateTimeOffset.Parse(r.GetString(1), CultureInfo.InvariantCulture)));
        }

        return list;
    }, ct);

    public Task<IReadOnlyList<(string Name, byte[] SealedValue)>> ListSealedResourcesAsync(string? after, int limit, CancellationToken ct) => RunAsync<IReadOnlyList<(string Name, byte[] SealedValue)>>(async conn =>
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT name, sealed_value FROM resources WHERE name > $a ORDER BY name LIMIT $l;";
        cmd.Parameters.AddWithValue("$a", after ?? "");
        cmd.Parameters.AddWithValue("$l", limit);
        var list = new List<(string, byte[])>();
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add((r.GetString(0), (byte[])r.GetValue(1)));
        }

        return list;
    }, ct);

    public Task<bool> ReplaceSealedValueAsync(string name, byte[] expected, byte[] replacement, CancellationToken ct) => RunAsync(async conn =>
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "UPDATE resources SET sealed_value = $new WHERE name = $n AND sealed_value = $old;";
        cmd.Parameters.AddWithValue("$n", name);
        cmd.Parameters.AddWithValue("$old", expected);
        cmd.Parameters.AddWithValue("$new", replacement);
        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
    }, ct);

    public Task AppendAuditAsync(AuditEntry entry, CancellationToken ct) => AppendAuditBatchAsync([entry], ct);

    public Task AppendAuditBatchAsync(IReadOnlyList<AuditEntry> entries, CancellationToken ct) => RunAsync(async conn =>
    {
        await using var tx = (SqliteTransaction)await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        await using var cmd = conn.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "INSERT INTO audit(at, actor, action, resource, evidence_digest, outcome, reason, kind, retained, subject, repository) VALUES ($at, $actor, $action, $res, $ev, $out, $why, $kind, $kept, $sub, $repo);";
        foreach (var entry in entries)
        {
            cmd.Parameters.Clear();
            cmd.Parameters.AddWithValue("$at", entry.At.ToUniversalTime().ToString("O"));
            cmd.Parameters.AddWithValue("$actor", entry.Actor);
            cmd.Parameters.AddWithValue("$action", entry.Action);
            cmd.Parameters.AddWithValue("$res", (object?)entry.Resource ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$ev", (object?)entry.EvidenceDigest ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$out", entry.Outcome);
            cmd.Parameters.AddWithValue("$why", entry.Reason);
            cmd.Parameters.AddWithValue("$kind", KindName(entry.Kind));
            cmd.Parameters.AddWithValue("$kept", entry.Retained ? 1 : 0);
            cmd.Parameters.AddWithValue("$sub", entry.SubjectOrActor);
            cmd.Parameters.AddWithValue("$repo", (object?)entry.Repository ?? DBNull.Value);
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        await tx.CommitAsync(ct).ConfigureAwait(false);
    }, ct);

    public Task<IReadOnlyList<AuditEntry>> ListAuditAsync(int limit, CancellationToken ct) => ListAuditAsync(limit, null, ct);

    public Task<IReadOnlyList<AuditEntry>> ListAuditAsync(int limit, IReadOnlyCollection<string>? repositories, CancellationToken ct) => RunAsync<IReadOnlyList<AuditEntry>>(async conn =>
    {
        await using var cmd = conn.CreateCommand();
        var where = "";
        if (repositories is not null)
        {
            // One parameter per repository: the list comes from the broker's role bindings, never from the caller.
            var names = repositories.Select((r, i) => (Name: "$r" + i.ToString(CultureInfo.InvariantCulture), Value: r)).ToList();
            foreach (var (n, v) in names)
            {
                cmd.Parameters.AddWithValue(n, v);
            }

            where = names.Count == 0 ? "WHERE 0 " : $"WHERE repository IN ({string.Join(", ", names.Select(n => n.Name))}) ";
        }

        cmd.CommandText = "SELECT at, actor, action, resource, evidence_digest, outcome, reason, kind, subject, repository FROM audit " + where + "ORDER BY id DESC LIMIT $l;";
        cmd.Parameters.AddWithValue("$l", limit);
        var list = new List<AuditEntry>();
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(new AuditEntry(
                DateTimeOffset.Parse(r.GetString(0), CultureInfo.InvariantCulture), r.GetString(1), r.GetString(2),
                r.IsDBNull(3) ? null : r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4), r.GetString(5), r.GetString(6), KindOf(r.GetString(7)),
                r.GetString(8), r.IsDBNull(9) ? null : r.GetString(9)));
        }

        return list;
    }, ct);

    public Task<int> PruneAuditAsync(AuditPrune prune, CancellationToken ct) => RunAsync(async conn =>
    {
        await using var tx = (SqliteTransaction)await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        await using var cmd = conn.CreateCommand();
        cmd.Transaction = tx;
        // Timestamps are ISO 8601 in UTC ("O" of a UTC DateTimeOffset), so text order is time order.
        cmd.CommandText = "DELETE FROM audit WHERE at < $before;";
        cmd.Parameters.AddWithValue("$before", prune.Before.ToUniversalTime().ToString("O"));
        var deleted = await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        cmd.Parameters.Clear();
        cmd.CommandText = "DELETE FROM audit WHERE retained = 0 AND id <= (SELECT id FROM audit WHERE retained = 0 ORDER BY id DESC LIMIT 1 OFFSET $keep);";
        cmd.Parameters.AddWithValue("$keep", prune.KeepPrunable);
        deleted += await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return deleted;
    }, ct);

    internal static string KindName(AuditKind kind) => kind switch
    {
        AuditKind.Release => "release",
        AuditKind.AdminChange => "admin",
        AuditKind.Unauthenticated => "unauthenticated",
        AuditKind.Summary => "summary",
        _ => "decision",
    };

    internal static AuditKind KindOf(string name) => name switch
    {
        "release" => AuditKind.Release,
        "admin" => AuditKind.AdminChange,
        "unauthenticated" => AuditKind.Unauthenticated,
        "summary" => AuditKind.Summary,
        _ => AuditKind.Decision,
    };

    public Task<long> PutPolicyAsync(string kind, string id, string body, DateTimeOffset at, CancellationToken ct) => RunAsync(async conn =>
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "INSERT INTO policies(kind, id, body, updated_at) VALUES ($k, $i, $b, $t) ON CONFLICT(kind, id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at;";
        cmd.Parameters.AddWithValue("$k", kind);
        cmd.Parameters.AddWithValue("$i", id);
        cmd.Parameters.AddWithValue("$b", body);
        cmd.Parameters.AddWithValue("$t", at.ToString("O"));
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        return Interlocked.Increment(ref _configVersion);
    }, ct);

    public Task<IReadOnlyList<string>> ListPolicyIdsAsync(string kind, CancellationToken ct) => RunAsync<IReadOnlyList<string>>(async conn =>
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT id FROM policies WHERE kind = $k ORDER BY id;";
        cmd.Parameters.AddWithValue("$k", kind);
        var list = new List<string>();
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(r.GetString(0));
        }

        return list;
    }, ct);

    public Task<long> PutReferenceValueAsync(string message, DateTimeOffset at, CancellationToken ct) => RunAsync(async conn =>
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "INSERT INTO reference_values(message, added_at) VALUES ($m, $t);";
        cmd.Parameters.AddWithValue("$m", message);
        cmd.Parameters.AddWithValue("$t", at.ToString("O"));
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        return Interlocked.Increment(ref _configVersion);
    }, ct);

    public Task<IReadOnlyList<(string Id, string Body)>> ListPoliciesAsync(string kind, CancellationToken ct) => RunAsync<IReadOnlyList<(string Id, string Body)>>(async conn =>
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT id, body FROM policies WHERE kind = $k ORDER BY id;";
        cmd.Parameters.AddWithValue("$k", kind);
        var list = new List<(string, string)>();
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add((r.GetString(0), r.GetString(1)));
        }

        return list;
    }, ct);

    public Task<IReadOnlyList<(string Message, DateTimeOffset AddedAt)>> ListReferenceValuesAsync(CancellationToken ct) => RunAsync<IReadOnlyList<(string Message, DateTimeOffset AddedAt)>>(async conn =>
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT message, added_at FROM reference_values ORDER BY id;";
        var list = new List<(string, DateTimeOffset)>();
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add((r.GetString(0), DateTimeOffset.Parse(r.GetString(1), CultureInfo.InvariantCulture)));
        }

        return list;
    }, ct);

    private static async Task ExecAsync(SqliteConnection conn, string sql, CancellationToken ct)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs work on a pooled connection. A fault of the file or the disk under it (full, I/O error, unreadable, not a
    /// database, locked past the timeout) becomes <see cref="StoreUnavailableException"/>: the request answers 503
    /// and /readyz says not ready, as for PostgreSQL, instead of 500. Anything else is a bug and propagates.
    /// </summary>
    private async Task<T> RunAsync<T>(Func<SqliteConnection, Task<T>> work, CancellationToken ct)
    {
        try
        {
            await using var conn = await OpenConnectionAsync(ct).ConfigureAwait(false);
            return await work(conn).ConfigureAwait(false);
        }
        catch (SqliteException e) when (SqliteFaults.IsUnavailable(e))
        {
            throw new StoreUnavailableException(SqliteFaults.Describe(e), e);
        }
    }

    // Task<bool> only to share the path above (a Task-returning store method returns it as its Task).
    private Task<bool> RunAsync(Func<SqliteConnection, Task> work, CancellationToken ct) => RunAsync(async c =>
    {
        await work(c).ConfigureAwait(false);
        return true;
    }, ct);

    private async Task<SqliteConnection> OpenConnectionAsync(CancellationToken ct)
    {
        var conn = new SqliteConnection(_connectionString);
        await conn.OpenAsync(ct).ConfigureAwait(false);
        await using var cmd = conn.CreateCommand();
        // Per connection: a commit is on disk before the call returns; WAL makes that cheap.
        // journal_size_limit: after a checkpoint the WAL is truncated back to 16 MiB, so a burst of writes does not
        // leave a large -wal file behind for good.
        cmd.CommandText = "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA journal_size_limit=16777216;";
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        return conn;
    }
}
