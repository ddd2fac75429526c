using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using Veil.Attestation;
using Veil.Attestation.Dstack;
using Veil.Attestation.EventLog;
using Veil.Attestation.Tdx;

namespace Veil.Cli.Commands;

/// <summary>
/// <c>veil eventlog replay</c>: a TD's CC event log replayed into RTMR0-3, with its events. The binary CCEL and
/// dstack's JSON log (a bare array, or a whole GetQuote answer, whose quote the replay is then compared with) are
/// told apart by their first byte.
/// </summary>
internal static class EventLogCommands
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static Command Create()
    {
        var group = new Command("eventlog", "Read TDX event logs: TCG crypto-agile (CCEL) or dstack's JSON.");
        var log = new Option<string>("--log") { Description = "The event log: CCEL log area data (TCG2 crypto-agile), or dstack's JSON event log or GetQuote answer", Required = true };
        var output = CliOptions.Output("text", "json");
        var replay = new Command("replay", "Replay the log into RTMR0-3 (SHA-384 extend) and list its events.") { log, output };
        replay.SetAction(parse => CliErrors.Guard(parse, () =>
        {
            var bytes = CliOptions.ReadFile(parse.GetValue(log)!, "--log");
            var (result, format, mismatches) = Replay(bytes);
            var o = parse.InvocationConfiguration.Output;
            if (parse.GetValue(output) == "json")
            {
                var shape = new Dictionary<string, object>(result.ToJsonShape(), StringComparer.Ordinal) { ["format"] = format };
                if (mismatches is not null)
                {
                    shape["quote_rtmrs_match"] = mismatches.Count == 0;
                    shape["mismatches"] = mismatches.Select(m => m.ToString()).ToList();
                }

                o.WriteLine(JsonSerializer.Serialize(shape, Json));
                return mismatches is { Count: > 0 } ? ExitCodes.Failed : ExitCodes.Ok;
            }

            o.WriteLine($"format {format}");
            for (var i = 0; i < RtmrReplay.RegisterCount; i++)
            {
                o.WriteLine($"rtmr{i}  {Convert.ToHexStringLower(result.Rtmrs[i].Span)}");
            }

            o.WriteLine($"{result.Events.Count} events:");
            foreach (var line in result.EventLines())
            {
                o.WriteLine("  " + line);
            }

            if (mismatches is not null)
            {
                o.WriteLine(mismatches.Count == 0 ? "quote: RTMR0-3 equal the replayed values" : $"quote: {mismatches.Count} RTMR(s) differ from the replay:");
                foreach (var m in mismatches)
                {
                    o.WriteLine($"  ✗ {m}");
                }
            }

            return mismatches is { Count: > 0 } ? ExitCodes.Failed : ExitCodes.Ok;
        }));
        group.Add(replay);
        return group;
    }

    /// <summary>The replay, the format's name, and (for a GetQuote answer) the quote's RTMRs that differ from it.</summary>
    private static (RtmrReplay Result, string Format, IReadOnlyList<VerificationFailure>? Mismatches) Replay(byte[] bytes)
    {
        if (!DstackEventLog.IsJson(bytes))
        {
            return (RtmrReplay.Parse(bytes), "tcg-ccel", null);
        }

        if (!DstackQuoteResponse.HasQuote(bytes))
        {
            return (DstackEventLog.Replay(bytes), "dstack-json", null);
        }

        var answer = DstackQuoteResponse.Parse(bytes);
        var replay = RtmrReplay.Replay(DstackEventLog.ToTcg(answer.Events));
        return (replay, "dstack-getquote", replay.Compare(TdxQuoteInput.Parse(answer.Quote).Body.Rtmrs));
    }
}
