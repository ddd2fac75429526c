using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Veil.Bridge;
using Veil.Bridge.Mitigations;
using Veil.Bridge.Platforms;
using Veil.Bridge.Plots;
using Veil.Bridge.Reports;
using Veil.Bridge.Scenarios;
using Veil.Bridge.Traces;
using Veil.Bridge.Validation;
using Veil.Bridge.Workloads;

namespace Veil.Cli.Commands;

/// <summary><c>veil bridge</c>: the CC bridge cost model — simulate, advise, predict from a trace, validate.</summary>
internal static class BridgeCommands
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static Command Create()
    {
        var bridge = new Command("bridge", "Cost model of the confidential VM <-> GPU bridge: what CC costs a workload and what recovers it.");
        bridge.Add(Simulate());
        bridge.Add(Advise());
        bridge.Add(Predict());
        bridge.Add(Validate());
        bridge.Add(Platforms());
        bridge.Add(Workloads());
        return bridge;
    }

    private static Option<string> PlatformOption() => new("--platform", "-p") { Description = "Platform id (h100-tdx, h100-snp, h200-tdx, b300-tdx, rtxpro6000-tdx) or a profile .yaml", Required = true };

    private static Option<string> WorkloadOption() => new("--workload", "-w") { Description = "Workload id (decode, serving-mix, kv-restore, model-load, offload, kv-swap-vllm, ...) or a workload .yaml", Required = true };

    private static Option<int[]> ConcurrencyOption() => new("--concurrency", "-c") { Description = "Concurrency levels (default: the workload's)", AllowMultipleArgumentsPerToken = true };

    private static Option<int> SeedOption() => new("--seed") { Description = "Seed for per-step jitter (same seed, same result)", DefaultValueFactory = _ => 1 };

    private static Command Simulate()
    {
        var platform = PlatformOption();
        var workload = WorkloadOption();
        var mitigation = new Option<string[]>("--mitigation", "-m") { Description = "Apply a mitigation (repeatable): " + string.Join(", ", Mitigation.All.Select(m => m.Id)) };
        var cc = new Option<string>("--cc") { Description = "on|off|both", DefaultValueFactory = _ => "both" };
        cc.AcceptOnlyFromAmong("on", "off", "both");
        var concurrency = ConcurrencyOption();
        var seed = SeedOption();
        var sweep = new Option<string>("--sweep") { Description = "Sweep a load parameter: concurrency=1,16,64,256 (a request mix then runs as a closed loop at each level)" };
        var traceOut = new Option<string>("--trace-out") { Description = "Write the CC-off run's GPU activity as a trace (one concurrency level): .sqlite = nsys export schema, else CSV" };
        var traceFormat = new Option<string>("--trace-format") { Description = "nsys-sqlite|nsys-csv|csv (default from the --trace-out extension: .sqlite nsys-sqlite, else nsys-csv); csv also records each copy's level" };
        traceFormat.AcceptOnlyFromAmong("nsys-sqlite", "nsys-csv", "csv");
        var output = CliOptions.Output("table", "json", "svg");
        var cmd = new Command("simulate", "Simulate a workload on a platform with CC on and/or off.") { platform, workload, mitigation, cc, concurrency, sweep, seed, traceOut, traceFormat, output };
        cmd.SetAction(parse => Guard(parse, () =>
        {
            var mode = parse.GetValue(cc) switch { "on" => CcMode.On, "off" => CcMode.Off, _ => CcMode.Both };
            var mitigations = (parse.GetValue(mitigation) ?? []).Select(Mitigation.Resolve).ToList();
            var levels = parse.GetValue(concurrency);
            if (parse.GetValue(sweep) is { } s)
            {
                levels = levels is { Length: > 0 } ? throw new CliUsageException("--sweep: give the levels either with --sweep or with --concurrency, not both") : [.. Simulation.ParseSweep(s)];
            }

            var p = PlatformCatalog.Resolve(parse.GetValue(platform)!);
            var w = WorkloadCatalog.Resolve(parse.GetValue(workload)!);
            var report = Simulation.Run(p, w, mitigations, mode, levels, Seed(parse.GetValue(seed)));
            if (parse.GetValue(traceOut) is { } path)
            {
                WriteTrace(p, w, report, path, parse.GetValue(traceFormat), parse.InvocationConfiguration.Error);
            }

            var o = parse.InvocationConfiguration.Output;
            switch (parse.GetValue(output))
            {
                case "json":
                    o.WriteLine(JsonSerializer.Serialize(report, Json));
                    break;
                case "svg":
                    o.Write(SvgChart.Render(report));
                    break;
                default:
                    BridgeTables.Simulation(report, o);
                    break;
            }

            return ExitCodes.Ok;
        }));
        return cmd;
    }

    /// <summary>The CC-off run of the (single) level simulated, as a trace a profiler would have recorded.</summary>
    private static void WriteTrace(PlatformProfile p, Workload w, SimulationReport report, string path, string? format, TextWriter err)
    {
        var levels = report.Points.Select(x => x.Concurrency).Distinct().ToList();
        if (levels.Count != 1)
        {
            throw new CliUsageException($"--trace-out: one concurrency level at a time (this run has {levels.Count}); add --concurrency N");
        }

        var activity = ScenarioRunner.Record(p, w, levels[0], report.Seed).Activity.Records;
        format ??= path.EndsWith(".sqlite", StringComparison.OrdinalIgnoreCase) ? "nsys-sqlite" : "nsys-csv";
        try
        {
            if (format == "nsys-sqlite")
            {
                TraceExport.WriteNsysSqlite(path, activity);
            }
            else
            {
                using var file = new StreamWriter(path);
                if (format == "csv")
                {
                    TraceExport.WriteCsv(file, activity);
                }
                else
                {
                    TraceExport.WriteNsysCsv(file, activity);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
        {
            throw new CliUsageException($"--trace-out: cannot write {path}: {e.Message}");
        }

        err.WriteLine($"wrote {activity.Count} GPU activities (CC off, concurrency {levels[0]}) to {path} ({format})");
    }

    private static Command Advise()
    {
        var platform = PlatformOption();
        var workload = WorkloadOption();
        var concurrency = ConcurrencyOption();
        var seed = SeedOption();
        var output = CliOptions.Output("table", "json");
        var cmd = new Command("advise", "Rank mitigations by the share of the CC gap each recovers.") { platform, workload, concurrency, seed, output };
        cmd.SetAction(parse => Guard(parse, () =>
        {
            var report = Advisor.Advise(
                PlatformCatalog.Resolve(parse.GetValue(platform)!),
                WorkloadCatalog.Resolve(parse.GetValue(workload)!),
                parse.GetValue(concurrency),
                Seed(parse.GetValue(seed)));
            var o = parse.InvocationConfiguration.Output;
            if (parse.GetValue(output) == "json")
            {
                o.WriteLine(JsonSerializer.Serialize(report, Json));
            }
            else
            {
                BridgeTables.Advice(report, o);
            }

            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Predict()
    {
        var trace = new Option<string>("--trace", "-t") { Description = "GPU trace recorded with CC off: an nsys export --type sqlite file, nsys stats cuda_gpu_trace CSV, or our CSV (start, duration, kind, bytes, stream[, memory, level])", Required = true };
        var platform = PlatformOption();
        var apiLevel = new Option<string>("--api-level") { Description = "Which copies are framework-level (API toll): pageable (copies from pageable host memory; default), all, none", DefaultValueFactory = _ => "pageable" };
        apiLevel.AcceptOnlyFromAmong("pageable", "all", "none");
        var context = new Option<string>("--context") { Description = "GPU context to predict when the trace has several: device/context as the trace names them (e.g. 0/1)" };
        var output = CliOptions.Output("table", "json");
        var cmd = new Command("predict", "Predict a CC-off trace with CC on.") { trace, platform, apiLevel, context, output };
        cmd.SetAction(parse => Guard(parse, () =>
        {
            var p = PlatformCatalog.Resolve(parse.GetValue(platform)!);
            var policy = parse.GetValue(apiLevel) switch { "all" => ApiLevelPolicy.All, "none" => ApiLevelPolicy.None, _ => ApiLevelPolicy.Pageable };
            var prediction = TracePredictor.Predict(TraceFile.Read(parse.GetValue(trace)!, parse.GetValue(context)), p, policy);
            var o = parse.InvocationConfiguration.Output;
            if (parse.GetValue(output) == "json")
            {
                o.WriteLine(JsonSerializer.Serialize(prediction, Json));
            }
            else
            {
                BridgeTables.Prediction(prediction, o);
            }

            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Validate()
    {
        var output = CliOptions.Output("table", "json");
        var strict = new Option<bool>("--strict") { Description = "Exit 1 on any figure outside its tolerance, explained or not" };
        var cmd = new Command("validate", "Hold the model against every published figure; exit 1 if one misses its tolerance without a recorded reason (--strict: at all).") { output, strict };
        cmd.SetAction(parse => Guard(parse, () =>
        {
            var checks = Validator.CheckAll();
            var o = parse.InvocationConfiguration.Output;
            if (parse.GetValue(output) == "json")
            {
                o.WriteLine(JsonSerializer.Serialize(checks.Select(c => new { c.Figure, c.Predicted, c.RelativeError, c.Within, c.ExplainedMiss, c.Unaccounted }), Json));
            }
            else
            {
                BridgeTables.Validation(checks, o);
            }

            var failed = parse.GetValue(strict) ? checks.Any(c => !c.Within) : checks.Any(c => c.Unaccounted);
            return failed ? ExitCodes.Failed : ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Platforms()
    {
        var output = CliOptions.Output("table", "json");
        var cmd = new Command("platforms", "List the platform profiles and the source of every parameter.") { output };
        cmd.SetAction(parse => Guard(parse, () =>
        {
            var o = parse.InvocationConfiguration.Output;
            if (parse.GetValue(output) == "json")
            {
                o.WriteLine(JsonSerializer.Serialize(PlatformCatalog.All.Select(p => new { p.Id, p.Name, p.Testbed, p.Parameters }), Json));
                return ExitCodes.Ok;
            }

            foreach (var p in PlatformCatalog.All)
            {
                o.WriteLine($"{p.Id}: {p.Name}");
                o.WriteLine($"  testbed: {p.Testbed}");
                foreach (var (k, v) in p.Parameters)
                {
                    o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {k,-22} {v.Value,10:G6} {v.Unit,-9} {v.Source}"));
                }
            }

            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Workloads()
    {
        var cmd = new Command("workloads", "List the built-in workloads.");
        cmd.SetAction(parse => Guard(parse, () =>
        {
            foreach (var w in WorkloadCatalog.All)
            {
                parse.InvocationConfiguration.Output.WriteLine($"{w.Id,-30} {w.Kind.ToString().ToLowerInvariant(),-9} {w.Description}");
            }

            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static int Seed(int seed) => seed >= 0 ? seed : throw new CliUsageException($"--seed: must be >= 0, got {seed}");

    /// <summary>Bridge input errors name the field and reason; they are bad input (exit 2), not internal errors.</summary>
    private static int Guard(ParseResult parse, Func<int> action) => CliErrors.Guard(parse, () =>
    {
        try
        {
            return action();
        }
        catch (BridgeInputException e)
        {
            throw new CliUsageException(e.Message, e);
        }
    });
}
