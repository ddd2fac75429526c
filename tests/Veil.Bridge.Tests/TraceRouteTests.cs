using Microsoft.Data.Sqlite;
using Veil.Bridge.Mitigations;
using Veil.Bridge.Platforms;
using Veil.Bridge.Scenarios;
using Veil.Bridge.Traces;
using Veil.Bridge.Workloads;
using Veil.Tests.Shared;

namespace Veil.Bridge.Tests;

/// <summary>
/// One cost path: a workload's CC-off run written as a trace (nsys SQLite, nsys CSV, our CSV) and predicted through the
/// trace route gives what the workload route gives; the nsys SQLite reader refuses damaged or foreign files by name.
/// </summary>
public sealed class TraceRouteTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("veil-bridge-trace-").FullName;

    public static TheoryData<string, string, int, string, string> Patterns => new()
    {
        // vLLM 0.5.4 decode: nine framework copies from pageable tensors, a pageable readback (the x1.07 vs x1.19 case).
        { "h100-snp", "val-h100snp-llama8b-tps", 1, "", "nsys-sqlite" },
        { "h100-snp", "val-h100snp-llama8b-tps", 1, "", "nsys-csv" },
        { "h200-tdx", "val-h200-llama8b-b8-latency", 8, "", "nsys-sqlite" },
        // vLLM V1 decode, sync-scheduled: persistent pinned buffers and pinned framework copies; only our CSV says which.
        { "b300-tdx", "decode", 1, "sync-scheduling", "csv" },
        { "b300-tdx", "decode", 64, "sync-scheduling", "csv" },
    };

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Theory]
    [MemberData(nameof(Patterns))]
    public void Trace_route_and_workload_route_agree_within_5_percent(string platform, string workload, int c, string mitigation, string format)
    {
        var (p, _, workloadOn, trace) = Export(platform, workload, c, mitigation, format);
        var predicted = TracePredictor.Predict(trace, p).PredictedOnMicros;
        Assert.InRange(predicted / workloadOn, 0.95, 1.05);
    }

    [Fact]
    public void Pricing_every_copy_as_raw_dma_was_the_disagreement()
    {
        var (p, _, workloadOn, trace) = Export("h100-snp", "val-h100snp-llama8b-tps", 1, string.Empty, "nsys-sqlite");
        var one = TracePredictor.Predict(trace, p);
        var raw = TracePredictor.Predict(trace, p, ApiLevelPolicy.None);
        Assert.Equal(16 * 10, one.ApiCopies); // 16 steps of nine H2D and one D2H from pageable memory
        Assert.Equal(0, raw.ApiCopies);
        Assert.True(raw.PredictedOnMicros / workloadOn < 0.9, $"{raw.PredictedOnMicros / workloadOn:F3}");
        Assert.True(raw.Slowdown < 1.05 && one.Slowdown > 1.12, $"raw x{raw.Slowdown:F3}, priced x{one.Slowdown:F3}");
    }

    [Fact]
    public void Shipped_sample_traces_read_alike_and_predict_like_the_workload()
    {
        var sqlite = TraceFile.Read(Sample("vllm-v0-decode-h100snp.sqlite"));
        var csv = TraceFile.Read(Sample("vllm-v0-decode-h100snp.csv"));
        Assert.Equal(832, sqlite.Count);
        Assert.Equal(sqlite.OrderBy(r => r.StartNs).ThenBy(r => r.Kind).ThenBy(r => r.Bytes).Select(r => (r.StartNs, r.Kind, r.Bytes, r.Memory)), csv.OrderBy(r => r.StartNs).ThenBy(r => r.Kind).ThenBy(r => r.Bytes).Select(r => (r.StartNs, r.Kind, r.Bytes, r.Memory)));
        Assert.Contains(sqlite, r => r.Bytes == 8 && r.Kind == TraceKind.CopyToDevice); // 8-byte copies read 0.000 MB in the CSV
        var p = PlatformCatalog.Resolve("h100-snp");
        var w = WorkloadCatalog.Resolve("val-h100snp-llama8b-tps");
        var on = ScenarioRunner.Run(p, w, true, 1).MakespanMicros;
        Assert.InRange(TracePredictor.Predict(sqlite, p).PredictedOnMicros / on, 0.95, 1.05);
    }

    [Fact]
    public void Not_a_database_is_refused_by_name()
    {
        var path = Write("junk.sqlite", [.. "SQLite format 3\0"u8, .. new byte[2000]]);
        var e = Assert.Throws<BridgeInputException>(() => TraceFile.Read(path));
        Assert.Contains("nsys SQLite", e.Message);
    }

    [Fact]
    public void Truncated_and_flipped_exports_are_typed_errors()
    {
        var bytes = File.ReadAllBytes(Sample("vllm-v0-decode-h100snp.sqlite"));
        var cut = Write("cut.sqlite", bytes[..(bytes.Length / 2)]);
        Assert.Throws<BridgeInputException>(() => TraceFile.Read(cut));
        var rng = new Random(5);
        for (var i = 0; i < 20; i++)
        {
            var flipped = (byte[])bytes.Clone();
            for (var k = 0; k < 8; k++)
            {
                flipped[rng.Next(100, flipped.Length)] ^= (byte)(1 << rng.Next(8));
            }

            var path = Write($"flip{i}.sqlite", flipped);
            try
            {
                TraceFile.Read(path); // a flip inside a value can leave a readable, different trace
            }
            catch (BridgeInputException)
            {
            }
        }
    }

    [Theory]
    [InlineData("CREATE TABLE other (x INTEGER)", "no CUPTI_ACTIVITY_KIND_KERNEL")]
    [InlineData("CREATE TABLE CUPTI_ACTIVITY_KIND_MEMCPY (start INTEGER, end INTEGER, streamId INTEGER, copyKind INTEGER)", "no column bytes")]
    [InlineData("CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (start INTEGER, end INTEGER, streamId INTEGER); INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL VALUES (100, 50, 7)", "before start")]
    [InlineData("CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (start INTEGER, end INTEGER, streamId INTEGER); INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL VALUES (-5, 50, 7)", "negative")]
    [InlineData("CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (start INTEGER, end INTEGER, streamId INTEGER); INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL VALUES ('soon', 50, 7)", "not an integer")]
    [InlineData("CREATE TABLE CUPTI_ACTIVITY_KIND_MEMCPY (start INTEGER, end INTEGER, streamId INTEGER, bytes INTEGER, copyKind INTEGER); INSERT INTO CUPTI_ACTIVITY_KIND_MEMCPY VALUES (1, 5, 7, 64, 42)", "copyKind 42")]
    [InlineData("CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (start INTEGER, end INTEGER, streamId INTEGER)", "no kernel")]
    [InlineData("CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (start INTEGER, end INTEGER, streamId INTEGER, deviceId INTEGER, contextId INTEGER); INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL VALUES (1, 5, 7, 0, 1), (6, 9, 8, 1, 2)", "--context")]
    public void Bad_export_contents_name_the_place(string sql, string expected)
    {
        var path = Db("bad.sqlite", sql);
        var e = Assert.Throws<BridgeInputException>(() => TraceFile.Read(path));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_trace_of_several_contexts_predicts_the_one_chosen()
    {
        var path = Db("two.sqlite", "CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (start INTEGER, end INTEGER, streamId INTEGER, deviceId INTEGER, contextId INTEGER); INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL VALUES (1, 5, 7, 0, 1), (6, 9, 8, 1, 2), (10, 20, 8, 1, 2)");
        Assert.Equal(2, TraceFile.Read(path, "1/2").Count);
        Assert.Contains("0/1, 1/2", Assert.Throws<BridgeInputException>(() => TraceFile.Read(path, "3/3")).Message);
    }

    [Fact]
    public void Our_csv_carries_memory_and_level_and_rejects_unknown_values()
    {
        var rows = TraceCsv.Read(new StringReader("start,duration,kind,bytes,stream,memory,level\n0,100,h2d,64,1,pinned,api\n200,100,d2h,64,1,pageable,\n"));
        Assert.Equal((Engine.HostMemory.Pinned, Engine.CrossingLevel.Api), (rows[0].Memory!.Value, rows[0].Level!.Value));
        Assert.Equal((Engine.HostMemory.Pageable, (Engine.CrossingLevel?)null), (rows[1].Memory!.Value, rows[1].Level));
        Assert.Equal(Engine.CrossingLevel.Api, TracePredictor.LevelOf(rows[1], ApiLevelPolicy.Pageable));
        Assert.Equal(Engine.CrossingLevel.Dma, TracePredictor.LevelOf(rows[1], ApiLevelPolicy.None));
        Assert.Contains("memory", Assert.Throws<BridgeInputException>(() => TraceCsv.Read(new StringReader("start,duration,kind,bytes,stream,memory\n0,1,h2d,4,1,magic\n"))).Message);
        Assert.Contains("level", Assert.Throws<BridgeInputException>(() => TraceCsv.Read(new StringReader("start,duration,kind,bytes,stream,level\n0,1,h2d,4,1,pcie\n"))).Message);
    }

    private static string Sample(string name) => Path.Combine(Vectors.RepoRoot, "testdata", "bridge", name);

    private (PlatformProfile P, Workload W, double WorkloadOn, IReadOnlyList<TraceRecord> Trace) Export(string platform, string workload, int c, string mitigation, string format)
    {
        var p = PlatformCatalog.Resolve(platform);
        var w = WorkloadCatalog.Resolve(workload);
        w = w with { Steps = Math.Min(w.Steps, 16) };
        if (mitigation.Length > 0)
        {
            w = Mitigation.Resolve(mitigation).Apply(w);
        }

        var (_, log) = ScenarioRunner.Record(p, w, c);
        var path = Path.Combine(dir, $"{workload}-{c}.{(format == "nsys-sqlite" ? "sqlite" : "csv")}");
        if (format == "nsys-sqlite")
        {
            TraceExport.WriteNsysSqlite(path, log.Records);
        }
        else
        {
            using var o = new StreamWriter(path);
            if (format == "csv")
            {
                TraceExport.WriteCsv(o, log.Records);
            }
            else
            {
                TraceExport.WriteNsysCsv(o, log.Records);
            }
        }

        return (p, w, ScenarioRunner.Run(p, w, true, c).MakespanMicros, TraceFile.Read(path));
    }

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private string Db(string name, string sql)
    {
        var path = Path.Combine(dir, name);
        using (var db = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = sql;
            cmd.ExecuteNonQuery();
        }

        return path;
    }
}
