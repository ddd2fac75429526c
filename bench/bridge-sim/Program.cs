using System.Diagnostics;
using System.Globalization;
using Veil.Bridge.Engine;
using Veil.Bridge.Platforms;
using Veil.Bridge.Traces;

// Two goals, both on one core. (1) Simulated crossings per second: a trace-shaped program (copies of mixed sizes
// and directions on two streams, a kernel after every four copies) run through the engine with CC on; the reference
// is the goal itself (5e6 crossings/s); a plain pass over the same ops is printed for scale. (2) A full serving
// sweep, as `veil bridge simulate -p b300-tdx -w serving-mix --sweep concurrency=1,16,64,256 -m drain-worker`
// runs it (4 levels x cc-off, cc-on, cc-on+drain-worker, continuous batching of the request mix), in under one
// second of CPU, measured cold (first call in the process, JIT included) and warm. The ratio printed last is the
// lower of the two goal ratios (crossings/s / 5e6, 1 s / cold sweep CPU), so it is >= 1 only when both hold.
const int Crossings = 2_000_000;
const double Goal = 5e6;
var platform = PlatformCatalog.Resolve("b300-tdx");
var rng = new Random(1);
var ops = new List<Op>(Crossings * 5 / 4 + 8);
for (var i = 0; i < Crossings; i++)
{
    var dir = (i & 1) == 0 ? Direction.HostToDevice : Direction.DeviceToHost;
    ops.Add(Op.Copy(i % 3 == 0 ? 1 : 0, dir, 256L << rng.Next(0, 14)));
    if (i % 4 == 3)
    {
        ops.Add(Op.Cpu(5));
        ops.Add(Op.Launch(0, 50));
    }
}

ops.Add(Op.Sync(0));
ops.Add(Op.Sync(1));
ops.Add(Op.Mark());
var program = new SimProgram([[.. ops]], streams: 2, events: 0);

// Warm up (JIT), then best of five.
Simulator.Run(program, platform.On);
var best = double.MaxValue;
long crossings = 0;
for (var r = 0; r < 5; r++)
{
    var sw = Stopwatch.StartNew();
    var result = Simulator.Run(program, platform.On);
    sw.Stop();
    crossings = result.Crossings;
    best = Math.Min(best, sw.Elapsed.TotalSeconds);
}

var plain = double.MaxValue;
for (var r = 0; r < 5; r++)
{
    var sw = Stopwatch.StartNew();
    double sum = 0;
    foreach (var op in program.Threads[0])
    {
        sum += op.Bytes + op.Micros;
    }

    sw.Stop();
    plain = Math.Min(plain, sw.Elapsed.TotalSeconds);
    GC.KeepAlive(sum);
}

// The general path: two host threads (decode with a drain worker), where every op goes through arbitration.
var decode = Veil.Bridge.Workloads.WorkloadCatalog.Resolve("decode") with { Steps = 100_000, DrainWorker = true };
var twoThreads = Veil.Bridge.Scenarios.ProgramBuilder.Serving(decode, 3000, 64, seed: 1);
Simulator.Run(twoThreads, platform.On);
var sw2 = Stopwatch.StartNew();
var decodeResult = Simulator.Run(twoThreads, platform.On);
sw2.Stop();
var rate2 = decodeResult.Crossings / sw2.Elapsed.TotalSeconds;

// End to end on a generated CSV: parse + predict (both modes).
var csv = Path.Combine(Path.GetTempPath(), $"bridge-sim-{Environment.ProcessId}.csv");
const int Rows = 1_000_000;
await using (var w = new StreamWriter(csv))
{
    await w.WriteLineAsync("start,duration,kind,bytes,stream").ConfigureAwait(false);
    long t = 0;
    for (var i = 0; i < Rows; i++)
    {
        var kind = (i % 4) switch { 0 => "h2d", 1 => "kernel", 2 => "kernel", _ => "d2h" };
        var dur = kind == "kernel" ? 40_000 : 3_000;
        await w.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{t},{dur},{kind},{(kind == "kernel" ? 0 : 4096)},7")).ConfigureAwait(false);
        t += dur + 1_000;
    }
}

var e2e = Stopwatch.StartNew();
var prediction = TracePredictor.Predict(TraceCsv.Read(csv), platform);
e2e.Stop();
File.Delete(csv);

// The full sweep: process CPU time (all threads: JIT and GC included), cold then warm.
var sweepPlatform = PlatformCatalog.Resolve("b300-tdx");
var mix = Veil.Bridge.Workloads.WorkloadCatalog.Resolve("serving-mix");
var drain = new[] { Veil.Bridge.Mitigations.Mitigation.Resolve("drain-worker") };
int[] levels = [1, 16, 64, 256];
var process = Process.GetCurrentProcess();
double Cpu()
{
    process.Refresh();
    return process.TotalProcessorTime.TotalSeconds;
}

var cpu0 = Cpu();
var sweep = Veil.Bridge.Reports.Simulation.Run(sweepPlatform, mix, drain, Veil.Bridge.Reports.CcMode.Both, levels);
var coldCpu = Cpu() - cpu0;
cpu0 = Cpu();
Veil.Bridge.Reports.Simulation.Run(sweepPlatform, mix, drain, Veil.Bridge.Reports.CcMode.Both, levels);
var warmCpu = Cpu() - cpu0;
var sweepSteps = sweep.Points.Sum(p => (long)(p.Serving?.Steps ?? 0));
var sweepTokens = sweep.Points.Sum(p => p.Serving?.OutputTokens ?? 0);

var rate = crossings / best;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"engine: {crossings} crossings in {best * 1e3:F1} ms (best of 5) = {rate / 1e6:F2} M crossings/s; plain pass over the ops {plain * 1e3:F1} ms"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"two threads (decode + drain worker): {decodeResult.Crossings} crossings in {sw2.Elapsed.TotalMilliseconds:F1} ms = {rate2 / 1e6:F2} M crossings/s"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trace predict: {Rows} CSV rows parsed and simulated twice in {e2e.Elapsed.TotalSeconds:F2} s (x{prediction.Slowdown:F2} with CC on)"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"serving sweep (b300-tdx, serving-mix, concurrency 1,16,64,256 x cc-off/cc-on/cc-on+drain-worker): {sweep.Points.Count} runs, {sweepSteps} engine steps, {sweepTokens} tokens; CPU cold {coldCpu:F3} s, warm {warmCpu:F3} s (goal < 1 s)"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"crossings ratio={rate / Goal:F2}, sweep ratio={1 / coldCpu:F2} (1 s / cold sweep CPU)"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bridge-sim ratio={Math.Min(rate / Goal, 1 / coldCpu):F2} goal=1.0"));
