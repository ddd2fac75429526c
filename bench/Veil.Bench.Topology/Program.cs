using System.Diagnostics;
using System.Globalization;
using Veil.Topology.Output;
using Veil.Topology.Planning;
using Veil.Topology.Sysfs;
using Veil.Topology.Tests.Fixtures;

// topology bench: `fixture <file>` writes the HGX 8-GPU fixture and prints its sysfs root into <file>;
// `measure <root> <hot-iterations>` times, in this fresh process, the first scan + replicate plan + every
// artifact (cold: includes JIT of Veil's code, as a CLI run would) and then the median of hot repetitions.
if (args.Length >= 2 && args[0] == "fixture")
{
    var fx = SysfsFixture.Build(Topologies.HgxH100);
    File.WriteAllText(args[1], fx.Root);
    return 0;
}

if (args.Length >= 3 && args[0] == "measure")
{
    var root = args[1];
    var hot = int.Parse(args[2], CultureInfo.InvariantCulture);
    var request = new PlanRequest(GpuSelection.Parse("all"), PlacementMode.Replicate, WithNics: true, WithNvSwitch: true, Cvm: CvmKind.Snp);

    int Once()
    {
        var inv = SysfsScanner.Scan(root);
        var plan = Planner.Create(inv, request);
        var bytes = KataConfigEmitter.Emit(plan).Length + KataConfigEmitter.EmitQemuArgs(plan).Length + CdiSpecEmitter.Emit(plan).Length
            + NcclTopologyEmitter.Emit(plan).Length + TopologyJson.Serialize(plan).Length;
        return inv.Functions.Count + (bytes > 0 ? 0 : 1);
    }

    // Cold: the first scan, plan and emission in this process, split, with the CPU time the process used.
    var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
    var sw = Stopwatch.StartNew();
    var inv0 = SysfsScanner.Scan(root);
    var scanMs = sw.Elapsed.TotalMilliseconds;
    var plan0 = Planner.Create(inv0, request);
    var planMs = sw.Elapsed.TotalMilliseconds - scanMs;
    var emitted = KataConfigEmitter.Emit(plan0) + KataConfigEmitter.EmitQemuArgs(plan0) + CdiSpecEmitter.Emit(plan0) + NcclTopologyEmitter.Emit(plan0) + TopologyJson.Serialize(plan0);
    var cold = sw.Elapsed.TotalMilliseconds;
    var coldCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds;
    var functions = inv0.Functions.Count + (emitted.Length > 0 ? 0 : 1);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cold_split_ms scan={scanMs:F2} plan={planMs:F2} emit={cold - scanMs - planMs:F2}"));
    var times = new List<double>();
    var hotCpu0 = Process.GetCurrentProcess().TotalProcessorTime;
    for (var i = 0; i < hot; i++)
    {
        sw.Restart();
        Once();
        times.Add(sw.Elapsed.TotalMilliseconds);
    }

    var hotCpu = hot == 0 ? 0 : (Process.GetCurrentProcess().TotalProcessorTime - hotCpu0).TotalMilliseconds / hot;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"hot_cpu_ms={hotCpu:F2}"));

    times.Sort();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"functions={functions}"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cold_ms={cold:F2}"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cold_cpu_ms={coldCpu:F2}"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"hot_median_ms={(times.Count > 0 ? times[times.Count / 2] : cold):F2}"));
    return 0;
}

Console.Error.WriteLine("usage: Veil.Bench.Topology fixture <file> | measure <sysfs-root> <hot-iterations>");
return 2;
