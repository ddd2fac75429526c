using Microsoft.Data.Sqlite;
using Veil.Bridge.Engine;

namespace Veil.Bridge.Traces;

/// <summary>
/// Reads the GPU activity of an <c>nsys export --type sqlite</c> file: CUPTI_ACTIVITY_KIND_KERNEL,
/// CUPTI_ACTIVITY_KIND_MEMCPY and CUPTI_ACTIVITY_KIND_MEMSET (start/end in ns, exact bytes, CUPTI copy and memory
/// kinds). The file is untrusted: opened read-only, only these tables are read, each by the columns named here,
/// every value is checked, and the row count is capped.
/// </summary>
internal static class NsysSqlite
{
    public const string KernelTable = "CUPTI_ACTIVITY_KIND_KERNEL";
    public const string MemcpyTable = "CUPTI_ACTIVITY_KIND_MEMCPY";
    public const string MemsetTable = "CUPTI_ACTIVITY_KIND_MEMSET";

    /// <summary>The first 16 bytes of every SQLite 3 database.</summary>
    public static ReadOnlySpan<byte> Magic => "SQLite format 3\0"u8;

    public static bool IsSqlite(string path)
    {
        Span<byte> head = stackalloc byte[16];
        using var f = File.OpenRead(path);
        return f.ReadAtLeast(head, 16, throwOnEndOfStream: false) == 16 && head.SequenceEqual(Magic);
    }

    public static IReadOnlyList<TraceRecord> Read(string path, string? context = null)
    {
        if (!File.Exists(path))
        {
            throw new BridgeInputException("--trace", $"file not found: {path}");
        }

        var connection = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
        try
        {
            using var db = new SqliteConnection(connection);
            db.Open();
            var tables = Tables(db);
            if (!tables.Contains(KernelTable) && !tables.Contains(MemcpyTable))
            {
                throw new BridgeInputException("trace", $"no {KernelTable} or {MemcpyTable} table: not an nsys export with CUDA trace (nsys profile --trace=cuda, then nsys export --type sqlite)");
            }

            var contexts = new TraceContexts(context);
            var streams = new Dictionary<long, int>();
            var rows = new List<TraceRecord>();
            foreach (var table in new[] { KernelTable, MemcpyTable, MemsetTable }.Where(tables.Contains))
            {
                ReadTable(db, table, contexts, streams, rows);
            }

            contexts.Check();
            if (rows.Count == 0)
            {
                throw new BridgeInputException("trace", "no kernel, copy or memset rows");
            }

            return rows;
        }
        catch (SqliteException e)
        {
            // A truncated or altered file: SQLite reports corruption or "not a database" instead of misreading it.
            throw new BridgeInputException("trace", $"not a readable nsys SQLite export: {e.Message}");
        }
    }

    private static HashSet<string> Tables(SqliteConnection db)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table'";
        using var r = cmd.ExecuteReader();
        var names = new HashSet<string>(StringComparer.Ordinal);
        while (r.Read() && names.Count < 10_000)
        {
            names.Add(r.GetString(0));
        }

        return names;
    }

    private static void ReadTable(SqliteConnection db, string table, TraceContexts contexts, Dictionary<long, int> streams, List<TraceRecord> rows)
    {
        var memcpy = table == MemcpyTable;
        var columns = Columns(db, table);
        string[] needed = memcpy ? ["start", "end", "streamId", "bytes", "copyKind"] : ["start", "end", "streamId"];
        var missing = needed.Where(c => !columns.Contains(c)).ToList();
        if (missing.Count > 0)
        {
            throw new BridgeInputException($"trace {table}", $"no column {string.Join(", ", missing)}");
        }

        string Opt(string c) => columns.Contains(c) ? c : "NULL";
        using var cmd = db.CreateCommand();

        // Identifiers are fixed strings of this file, never taken from the trace.
        cmd.CommandText = memcpy
            ? $"SELECT start, end, streamId, {Opt("deviceId")}, {Opt("contextId")}, bytes, copyKind, {Opt("srcKind")}, {Opt("dstKind")} FROM {table}"
            : $"SELECT start, end, streamId, {Opt("deviceId")}, {Opt("contextId")} FROM {table}";
        using var r = cmd.ExecuteReader();
        long n = 0;
        while (r.Read())
        {
            n++;
            var where = $"trace {table} row {n}";
            if (rows.Count >= TraceCsv.MaxRows)
            {
                throw new BridgeInputException(where, $"more than {TraceCsv.MaxRows} rows");
            }

            var start = Integer(r, 0, where, "start");
            var end = Integer(r, 1, where, "end");
            if (end < start)
            {
                throw new BridgeInputException(where, $"end {end} is before start {start}");
            }

            if (!contexts.Keep(r.IsDBNull(3) || r.IsDBNull(4) ? null : $"{r.GetInt64(3)}/{r.GetInt64(4)}"))
            {
                continue;
            }

            var streamId = Integer(r, 2, where, "streamId");
            if (!streams.TryGetValue(streamId, out var stream))
            {
                stream = streams.Count;
                if (stream >= 1024)
                {
                    throw new BridgeInputException(where, "more than 1024 streams");
                }

                streams.Add(streamId, stream);
            }

            if (!memcpy)
            {
                rows.Add(new TraceRecord(start, end - start, table == KernelTable ? TraceKind.Kernel : TraceKind.Memset, 0, stream));
                continue;
            }

            var kind = CopyKind(Integer(r, 6, where, "copyKind"), where);
            if (kind is null)
            {
                continue; // host-to-host: no bridge crossing, no GPU work
            }

            var hostKind = kind == TraceKind.CopyToDevice ? 7 : 8;
            var memory = r.IsDBNull(hostKind) ? (HostMemory?)null : MemoryKind(Integer(r, hostKind, where, hostKind == 7 ? "srcKind" : "dstKind"));
            rows.Add(new TraceRecord(start, end - start, kind.Value, Integer(r, 5, where, "bytes"), stream, kind is TraceKind.CopyToDevice or TraceKind.CopyToHost ? memory : null));
        }
    }

    private static HashSet<string> Columns(SqliteConnection db, string table)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"PRAGMA table_info({table})";
        using var r = cmd.ExecuteReader();
        var names = new HashSet<string>(StringComparer.Ordinal);
        while (r.Read() && names.Count < 1000)
        {
            names.Add(r.GetString(1));
        }

        return names;
    }

    private static long Integer(SqliteDataReader r, int i, string where, string column)
    {
        if (r.IsDBNull(i) || r.GetFieldType(i) != typeof(long))
        {
            throw new BridgeInputException(where, $"{column} is not an integer");
        }

        var v = r.GetInt64(i);
        return v >= 0 ? v : throw new BridgeInputException(where, $"{column} {v} is negative");
    }

    /// <summary>CUpti_ActivityMemcpyKind: 1 HtoD, 2 DtoH, 3 HtoA, 4 AtoH, 5 AtoA, 6 AtoD, 7 DtoA, 8 DtoD, 9 HtoH, 10 PtoP.</summary>
    private static TraceKind? CopyKind(long kind, string where) => kind switch
    {
        1 or 3 => TraceKind.CopyToDevice,
        2 or 4 => TraceKind.CopyToHost,
        5 or 6 or 7 or 8 or 10 => TraceKind.CopyOnDevice,
        9 => null,
        _ => throw new BridgeInputException(where, $"copyKind {kind} is not a CUPTI memcpy kind (1-10)"),
    };

    /// <summary>CUpti_ActivityMemoryKind: 1 pageable, 2 pinned, 5 managed (staged like pageable); others say nothing about the host side.</summary>
    private static HostMemory? MemoryKind(long kind) => kind switch
    {
        1 or 5 => HostMemory.Pageable,
        2 => HostMemory.Pinned,
        _ => null,
    };
}
