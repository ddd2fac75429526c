using System.Diagnostics;
using System.Globalization;
using Veil.Topology.Output;
using Veil.Topology.Planning;
using Veil.Topology.Sysfs;
using Veil.Topology.Tests.Fixtures;

// topology bench: `fixture <file>` writes the HGX 8-GPU fixture and prints its sysfs root into <file>;
// `measure <root> <hot-iterations>` times, in this fresh process, the first scan + replicate plan (cold: the
// first call, JIT or ReadyToRun code included, as one `veil topology plan` run) — the goal's subject — then, as a
// separate figure, the first emission of every artifact, then the medians of hot repetitions of each.
// `probe <root> scan|plan|emit` runs one cold pass up to that phase and prints nothing (for JIT listings).
var request = new PlanRequest(GpuSelection.Parse("all"), PlacementMode.Replicate, WithNics: true, WithNvSwitch: true, Cvm: CvmKind.Snp);

if (args.Length >= 2 && args[0] == "fixture")
{
    var fx = SysfsFixture.Build(Topologies.HgxH100);
    File.WriteAllText(args[1], fx.Root);
    return 0;
}

// `tree hgx-h100-8gpu <dir>` writes the sysfs tree kept in testdata/topology (once; a test checks it still matches).
if (args.Length >= 3 && args[0] == "tree")
{
    var description = args[1] switch
    {
        "hgx-h100-8gpu" => Topologies.HgxH100Spr,
        _ => null,
    };
    if (description is null)
    {
        Console.Error.WriteLine($"unknown tree '{args[1]}' (known: hgx-h100-8gpu)");
        return 2;
    }

    SysfsFixture.WriteTree(description, args[2]);
    return 0;
}

if (args.Length >= 3 && args[0] == "probe")
{
    var inv = SysfsScanner.Scan(args[1]);
    var plan = args[2] == "scan" ? null : Planner.Create(inv, request);
    return plan is not null && args[2] == "emit" ? Emit(plan).Length > 0 ? 0 : 1 : 0;
}

if (args.Length >= 3 && args[0] == "measure")
{
    var root = args[1];
    var hot = int.Parse(args[2], CultureInfo.InvariantCulture);

    // Cold: the first scan and plan in this process (the goal), split, with the CPU time the process used.
    var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
    var sw = Stopwatch.StartNew();
    var inv0 = SysfsScanner.Scan(root);
    var scanMs = sw.Elapsed.TotalMilliseconds;
    var plan0 = Planner.Create(inv0, request);
    var coldMs = sw.Elapsed.TotalMilliseconds;
    var coldCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds;

    // Then the first emission of every artifact (`--emit all`), reported apart from the goal, split by artifact.
    var split = new List<string>();
    var emitted = 0;
    var emitMs = 0.0;
    foreach (var (name, emit) in Artifacts.All)
    {
        sw.Restart();
        emitted += emit(plan0).Length;
        var ms = sw.Elapsed.TotalMilliseconds;
        emitMs += ms;
        split.Add(string.Create(CultureInfo.InvariantCulture, $"{name}={ms:F2}"));
    }

    if (plan0.Devices.Count == 0 || emitted == 0)
    {
        Console.Error.WriteLine("the plan is empty: the fixture did not scan");
        return 1;
    }

    var scanPlan = new List<double>();
    var emits = new List<double>();
    var hotCpu0 = Process.GetCurrentProcess().TotalProcessorTime;
    for (var i = 0; i < hot; i++)
    {
        sw.Restart();
        var plan = Planner.Create(SysfsScanner.Scan(root), request);
        scanPlan.Add(sw.Elapsed.TotalMilliseconds);
        sw.Restart();
        emitted += Emit(plan).Length;
        emits.Add(sw.Elapsed.TotalMilliseconds);
    }

    var hotCpu = hot == 0 ? 0 : (Process.GetCurrentProcess().TotalProcessorTime - hotCpu0).TotalMilliseconds / hot;
    Print($"functions={inv0.Functions.Count}");
    Print($"cold_scan_ms={scanMs:F2}");
    Print($"cold_plan_ms={coldMs - scanMs:F2}");
    Print($"cold_ms={coldMs:F2}");
    Print($"cold_cpu_ms={coldCpu:F2}");
    Print($"cold_emit_ms={emitMs:F2}");
    Print($"cold_emit_split_ms {string.Join(' ', split)}");
    Print($"hot_ms={Median(scanPlan, coldMs):F2}");
    Print($"hot_emit_ms={Median(emits, emitMs):F2}");
    Print($"hot_cpu_ms={hotCpu:F2}");
    return 0;
}

Console.Error.WriteLine("usage: Veil.Bench.Topology fixture <file> | measure <sysfs-root> <hot-iterations> | probe <sysfs-root> scan|plan|emit | tree hgx-h100-8gpu <dir>");
return 2;

static string Emit(Plan plan)
{
    var all = string.Empty;
    foreach (var (_, emit) in Artifacts.All)
    {
        all += emit(plan);
    }

    return all;
}

static double Median(List<double> xs, double fallback)
{
    xs.Sort();
    return xs.Count > 0 ? xs[xs.Count / 2] : fallback;
}

static void Print(FormattableString line) => Console.WriteLine(line.ToString(CultureInfo.InvariantCulture));

/// <summary>What `veil topology plan --emit all` writes, in its order.</summary>
internal static class Artifacts
{
    public static readonly (string Name, Func<Plan, string> Emit)[] All =
    [
        ("kata", KataConfigEmitter.Emit), ("qemu", KataConfigEmitter.EmitQemuArgs), ("cdi", p => CdiSpecEmitter.Emit(p)),
        ("nccl", NcclTopologyEmitter.Emit), ("json", TopologyJson.Serialize),
    ];
}
