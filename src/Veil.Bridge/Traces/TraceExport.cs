using System.Globalization;
using Microsoft.Data.Sqlite;
using Veil.Bridge.Engine;

namespace Veil.Bridge.Traces;

/// <summary>
/// Writes the GPU activity of a simulated run as a profiler would record it: an nsys SQLite export (the tables and
/// column names of <c>nsys export --type sqlite</c>, with the CUPTI enum values) or the CSV of
/// <c>nsys stats --report cuda_gpu_trace --format csv</c>. Sample traces and the trace-vs-workload checks are made
/// this way; the reader takes them back like real exports.
/// </summary>
internal static class TraceExport
{
    /// <summary>Timestamps start here (ns), as nsys's start after the session began.</summary>
    private const long BaseNs = 1_000_000;
    private const int FirstStreamId = 7;
    private const string KernelName = "veil_simulated_kernel";

    private const string Schema = """
        CREATE TABLE StringIds (id INTEGER NOT NULL PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE ENUM_CUDA_MEMCPY_OPER (id INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, label TEXT NOT NULL);
        CREATE TABLE ENUM_CUDA_MEM_KIND (id INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, label TEXT NOT NULL);
        CREATE TABLE CUPTI_ACTIVITY_KIND_MEMCPY (
            start INTEGER NOT NULL, end INTEGER NOT NULL, deviceId INTEGER NOT NULL, contextId INTEGER NOT NULL,
            greenContextId INTEGER, streamId INTEGER NOT NULL, correlationId INTEGER, globalPid INTEGER,
            bytes INTEGER NOT NULL, copyKind INTEGER NOT NULL, deprecatedSrcId INTEGER, srcKind INTEGER, dstKind INTEGER,
            srcDeviceId INTEGER, srcContextId INTEGER, dstDeviceId INTEGER, dstContextId INTEGER, migrationCause INTEGER,
            graphNodeId INTEGER, virtualAddress INTEGER);
        CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (
            start INTEGER NOT NULL, end INTEGER NOT NULL, deviceId INTEGER NOT NULL, contextId INTEGER NOT NULL,
            greenContextId INTEGER, streamId INTEGER NOT NULL, correlationId INTEGER, globalPid INTEGER,
            demangledName INTEGER NOT NULL, shortName INTEGER NOT NULL, mangledName INTEGER, launchType INTEGER,
            cacheConfig INTEGER, registersPerThread INTEGER NOT NULL, gridX INTEGER NOT NULL, gridY INTEGER NOT NULL,
            gridZ INTEGER NOT NULL, blockX INTEGER NOT NULL, blockY INTEGER NOT NULL, blockZ INTEGER NOT NULL,
            staticSharedMemory INTEGER NOT NULL, dynamicSharedMemory INTEGER NOT NULL, localMemoryPerThread INTEGER NOT NULL,
            localMemoryTotal INTEGER NOT NULL, gridId INTEGER NOT NULL, sharedMemoryExecuted INTEGER, graphNodeId INTEGER,
            sharedMemoryLimitConfig INTEGER);
        """;

    // The enum tables hold the CUPTI values the activity rows use: (id, CUPTI enumerator, label).
    private static readonly (string Name, string Label)[] CopyOper =
    [
        ("UNKNOWN", "Unknown"), ("HTOD", "Host-to-Device"), ("DTOH", "Device-to-Host"), ("HTOA", "Host-to-Array"), ("ATOH", "Array-to-Host"),
        ("ATOA", "Array-to-Array"), ("ATOD", "Array-to-Device"), ("DTOA", "Device-to-Array"), ("DTOD", "Device-to-Device"), ("HTOH", "Host-to-Host"), ("PTOP", "Peer-to-Peer"),
    ];

    private static readonly (string Name, string Label)[] MemKind =
    [
        ("UNKNOWN", "Unknown"), ("PAGEABLE", "Pageable"), ("PINNED", "Pinned"), ("DEVICE", "Device"), ("ARRAY", "Array"),
        ("MANAGED", "Managed"), ("DEVICE_STATIC", "Device Static"), ("MANAGED_STATIC", "Managed Static"),
    ];

    public static void WriteNsysSqlite(string path, IReadOnlyList<Activity> activity)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
        }

        using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        db.Open();
        using var tx = db.BeginTransaction();
        Execute(db, tx, Schema);
        Execute(db, tx, $"INSERT INTO StringIds VALUES (1, '{KernelName}')");
        for (var i = 0; i < CopyOper.Length; i++)
        {
            Execute(db, tx, $"INSERT INTO ENUM_CUDA_MEMCPY_OPER VALUES ({i}, 'CUPTI_ACTIVITY_MEMCPY_KIND_{CopyOper[i].Name}', '{CopyOper[i].Label}')");
        }

        for (var i = 0; i < MemKind.Length; i++)
        {
            Execute(db, tx, $"INSERT INTO ENUM_CUDA_MEM_KIND VALUES ({i}, 'CUPTI_ACTIVITY_MEMORY_KIND_{MemKind[i].Name}', '{MemKind[i].Label}')");
        }

        using var kernel = Insert(db, tx, "CUPTI_ACTIVITY_KIND_KERNEL", "start, end, deviceId, contextId, streamId, correlationId, globalPid, demangledName, shortName, registersPerThread, gridX, gridY, gridZ, blockX, blockY, blockZ, staticSharedMemory, dynamicSharedMemory, localMemoryPerThread, localMemoryTotal, gridId", "$s, $e, 0, 1, $st, $c, 1, 1, 1, 32, 132, 1, 1, 256, 1, 1, 0, 0, 0, 0, $c");
        using var copy = Insert(db, tx, "CUPTI_ACTIVITY_KIND_MEMCPY", "start, end, deviceId, contextId, streamId, correlationId, globalPid, bytes, copyKind, srcKind, dstKind, srcDeviceId, dstDeviceId", "$s, $e, 0, 1, $st, $c, 1, $b, $k, $sk, $dk, 0, 0");
        var correlation = 0;
        foreach (var a in activity)
        {
            var cmd = a.Kind == ActivityKind.Kernel ? kernel : copy;
            cmd.Parameters["$s"].Value = Ns(a.StartMicros);
            cmd.Parameters["$e"].Value = Math.Max(Ns(a.StartMicros), Ns(a.EndMicros));
            cmd.Parameters["$st"].Value = FirstStreamId + a.Stream;
            cmd.Parameters["$c"].Value = ++correlation;
            if (a.Kind == ActivityKind.Copy)
            {
                var host = a.Memory == HostMemory.Pageable ? 1 : 2;
                var h2d = a.Direction == Direction.HostToDevice;
                cmd.Parameters["$b"].Value = a.Bytes;
                cmd.Parameters["$k"].Value = h2d ? 1 : 2;
                cmd.Parameters["$sk"].Value = h2d ? host : 3;
                cmd.Parameters["$dk"].Value = h2d ? 3 : host;
            }

            cmd.ExecuteNonQuery();
        }

        tx.Commit();
    }

    public static void WriteNsysCsv(TextWriter o, IReadOnlyList<Activity> activity)
    {
        o.WriteLine("Start (ns),Duration (ns),CorrId,GrdX,GrdY,GrdZ,BlkX,BlkY,BlkZ,Reg/Trd,StcSMem (MB),DymSMem (MB),Bytes (MB),Throughput (MB/s),SrcMemKd,DstMemKd,Device,Ctx,GreenCtx,Strm,Name");
        var correlation = 0;
        foreach (var a in activity)
        {
            var start = Ns(a.StartMicros);
            var duration = Math.Max(0, Ns(a.EndMicros) - start);
            var stream = FirstStreamId + a.Stream;
            correlation++;
            if (a.Kind == ActivityKind.Kernel)
            {
                o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{start},{duration},{correlation},132,1,1,256,1,1,32,0.000,0.000,,,,,Simulated GPU (0),1,,{stream},{KernelName}"));
                continue;
            }

            var host = a.Memory == HostMemory.Pageable ? "Pageable" : "Pinned";
            var h2d = a.Direction == Direction.HostToDevice;
            var mbps = duration > 0 ? a.Bytes / (duration / 1e3) : 0;
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{start},{duration},{correlation},,,,,,,,,,{a.Bytes / 1e6:F3},{mbps:F3},{(h2d ? host : "Device")},{(h2d ? "Device" : host)},Simulated GPU (0),1,,{stream},[CUDA memcpy {(h2d ? "Host-to-Device" : "Device-to-Host")}]"));
        }
    }

    /// <summary>Our CSV: one row per activity with the host memory and the crossing level, which GPU profilers do not record.</summary>
    public static void WriteCsv(TextWriter o, IReadOnlyList<Activity> activity)
    {
        o.WriteLine("start,duration,kind,bytes,stream,memory,level");
        foreach (var a in activity)
        {
            var start = Ns(a.StartMicros);
            var duration = Math.Max(0, Ns(a.EndMicros) - start);
            o.WriteLine(a.Kind == ActivityKind.Kernel
                ? string.Create(CultureInfo.InvariantCulture, $"{start},{duration},kernel,0,{a.Stream},,")
                : string.Create(CultureInfo.InvariantCulture, $"{start},{duration},{(a.Direction == Direction.HostToDevice ? "h2d" : "d2h")},{a.Bytes},{a.Stream},{(a.Memory == HostMemory.Pageable ? "pageable" : "pinned")},{(a.Level == CrossingLevel.Api ? "api" : "dma")}"));
        }
    }

    private static long Ns(double micros) => BaseNs + (long)Math.Round(micros * 1e3);

    private static void Execute(SqliteConnection db, SqliteTransaction tx, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static SqliteCommand Insert(SqliteConnection db, SqliteTransaction tx, string table, string columns, string values)
    {
        var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = $"INSERT INTO {table} ({columns}) VALUES ({values})";
        foreach (var p in values.Split(',').Select(v => v.Trim()).Where(v => v.StartsWith('$')).Distinct(StringComparer.Ordinal))
        {
            cmd.Parameters.Add(new SqliteParameter(p, 0L));
        }

        return cmd;
    }
}
