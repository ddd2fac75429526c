using System.Diagnostics;
using System.Globalization;
using Veil.Bridge.Engine;
using Veil.Bridge.Platforms;
using Veil.Bridge.Traces;

// Simulated crossings per second on one core: a trace-shaped program (copies of mixed sizes and directions
// on two streams, a kernel after every four copies) run through the engine with CC on. The reference is the
// goal itself (5e6 crossings/s); a plain pass over the same ops is printed for scale.
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

var rate = crossings / best;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"engine: {crossings} crossings in {best * 1e3:F1} ms (best of 5) = {rate / 1e6:F2} M crossings/s; plain pass over the ops {plain * 1e3:F1} ms"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"two threads (decode + drain worker): {decodeResult.Crossings} crossings in {sw2.Elapsed.TotalMilliseconds:F1} ms = {rate2 / 1e6:F2} M crossings/s"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trace predict: {Rows} CSV rows parsed and simulated twice in {e2e.Elapsed.TotalSeconds:F2} s (x{prediction.Slowdown:F2} with CC on)"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bridge-sim ratio={rate / Goal:F2} goal=1.0"));
