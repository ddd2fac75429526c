using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using Veil.Attestation.EventLog;

namespace Veil.Cli.Commands;

/// <summary><c>veil eventlog replay</c>: a TD's CC event log replayed into RTMR0-3, with its events.</summary>
internal static class EventLogCommands
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static Command Create()
    {
        var group = new Command("eventlog", "Read TCG crypto-agile event logs (TDX CCEL).");
        var log = new Option<string>("--log") { Description = "The event log (CCEL log area data, TCG2 crypto-agile format)", Required = true };
        var output = CliOptions.Output("text", "json");
        var replay = new Command("replay", "Replay the log into RTMR0-3 (SHA-384 extend) and list its events.") { log, output };
        replay.SetAction(parse => CliErrors.Guard(parse, () =>
        {
            var result = RtmrReplay.Parse(CliOptions.ReadFile(parse.GetValue(log)!, "--log"));
            var o = parse.InvocationConfiguration.Output;
            if (parse.GetValue(output) == "json")
            {
                o.WriteLine(JsonSerializer.Serialize(result.ToJsonShape(), Json));
                return ExitCodes.Ok;
            }

            for (var i = 0; i < RtmrReplay.RegisterCount; i++)
            {
                o.WriteLine($"rtmr{i}  {Convert.ToHexStringLower(result.Rtmrs[i].Span)}");
            }

            o.WriteLine($"{result.Events.Count} events:");
            foreach (var line in result.EventLines())
            {
                o.WriteLine("  " + line);
            }

            return ExitCodes.Ok;
        }));
        group.Add(replay);
        return group;
    }
}
