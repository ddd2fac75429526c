using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Veil.Bridge;
using Veil.Bridge.Mitigations;
using Veil.Bridge.Platforms;
using Veil.Bridge.Plots;
using Veil.Bridge.Reports;
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

    private static Option<string> WorkloadOption() => new("--workload", "-w") { Description = "Workload id (decode, kv-restore, model-load, offload, ...) or a workload .yaml", Required = true };

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
        var output = CliOptions.Output("table", "json", "svg");
        var cmd = new Command("simulate", "Simulate a workload on a platform with CC on and/or off.") { platform, workload, mitigation, cc, concurrency, seed, output };
        cmd.SetAction(parse => Guard(parse, () =>
        {
            var mode = parse.GetValue(cc) switch { "on" => CcMode.On, "off" => CcMode.Off, _ => CcMode.Both };
            var mitigations = (parse.GetValue(mitigation) ?? []).Select(Mitigation.Resolve).ToList();
            var report = Simulation.Run(
                PlatformCatalog.Resolve(parse.GetValue(platform)!),
                WorkloadCatalog.Resolve(parse.GetValue(workload)!),
                mitigations,
                mode,
                parse.GetValue(concurrency),
                Seed(parse.GetValue(seed)));
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
        var trace = new Option<string>("--trace", "-t") { Description = "GPU trace CSV recorded with CC off (start, duration, kind, bytes, stream; nsys cuda_gpu_trace export works)", Required = true };
        var platform = PlatformOption();
        var output = CliOptions.Output("table", "json");
        var cmd = new Command("predict", "Predict a CC-off trace with CC on.") { trace, platform, output };
        cmd.SetAction(parse => Guard(parse, () =>
        {
            var p = PlatformCatalog.Resolve(parse.GetValue(platform)!);
            var prediction = TracePredictor.Predict(TraceCsv.Read(parse.GetValue(trace)!), p);
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
        var cmd = new Command("validate", "Hold the model against every published figure; exit 1 if any is outside its tolerance.") { output };
        cmd.SetAction(parse => Guard(parse, () =>
        {
            var checks = Validator.CheckAll();
            var o = parse.InvocationConfiguration.Output;
            if (parse.GetValue(output) == "json")
            {
                o.WriteLine(JsonSerializer.Serialize(checks.Select(c => new { c.Figure, c.Predicted, c.RelativeError, c.Within }), Json));
            }
            else
            {
                BridgeTables.Validation(checks, o);
            }

            return checks.All(c => c.Within) ? ExitCodes.Ok : ExitCodes.Failed;
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
