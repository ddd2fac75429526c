using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Veil.Tests.Shared;

namespace Veil.Cli.Tests;

/// <summary>
/// <c>veil eventlog replay</c> on dstack's JSON (testdata/dstack, upstream's GetQuote capture): told apart from a binary
/// CCEL by itself, replayed, compared with the quote when the file carries one; bad input named, no stack trace.
/// </summary>
public sealed class EventLogDstackCliTests : IDisposable
{
    private const string Rtmr3 = "6f24c170d0fd63fc2b1b53202eea47b013978437fa6982cf5e0438ff95c208994aaa0f4ebab2e3a66824b5b56869137e";

    private readonly string temp = Directory.CreateTempSubdirectory("veil-cli-dstack-").FullName;

    public void Dispose() => Directory.Delete(temp, recursive: true);

    private static string Fixture => Path.Combine(Vectors.RepoRoot, "testdata", "dstack", "tdx-lite-getquote.json");

    private string Write(string name, string text)
    {
        var path = Path.Combine(temp, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void A_getquote_answer_replays_and_matches_its_quote()
    {
        var (exit, stdout, stderr) = CliRunner.Run("eventlog", "replay", "--log", Fixture);
        Assert.True(exit == 0, stderr);
        Assert.Contains("format dstack-getquote", stdout, StringComparison.Ordinal);
        Assert.Contains($"rtmr3  {Rtmr3}", stdout, StringComparison.Ordinal);
        Assert.Contains("29 events:", stdout, StringComparison.Ordinal);
        Assert.Contains("DSTACK_RUNTIME_EVENT", stdout, StringComparison.Ordinal);
        Assert.Contains("app-id: 86b0e55f2fa8e4fb69d890f14f54d5612707646e", stdout, StringComparison.Ordinal);
        Assert.Contains("quote: RTMR0-3 equal the replayed values", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("truncated", stdout + stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bare_json_log_replays_as_json_output()
    {
        var log = Write("events.json", JsonNode.Parse(File.ReadAllText(Fixture))!["event_log"]!.GetValue<string>());
        var (exit, json, stderr) = CliRunner.Run("eventlog", "replay", "--log", log, "--output", "json");
        Assert.True(exit == 0, stderr);
        using var doc = JsonDocument.Parse(json);
        Assert.Equal("dstack-json", doc.RootElement.GetProperty("format").GetString());
        Assert.Equal(Rtmr3, doc.RootElement.GetProperty("rtmrs").GetProperty("rtmr3").GetString());
        Assert.Equal(29, doc.RootElement.GetProperty("events").GetArrayLength());
        Assert.False(doc.RootElement.TryGetProperty("quote_rtmrs_match", out _));
    }

    [Fact]
    public void A_log_that_does_not_match_its_quote_exits_1_naming_the_rtmr_and_both_values()
    {
        var answer = JsonNode.Parse(File.ReadAllText(Fixture))!;
        var events = JsonNode.Parse(answer["event_log"]!.GetValue<string>())!.AsArray();
        events[22]!["event_payload"] = "00";
        answer["event_log"] = events.ToJsonString();
        var path = Write("edited.json", answer.ToJsonString());

        var (exit, stdout, _) = CliRunner.Run("eventlog", "replay", "--log", path);
        Assert.Equal(1, exit);
        Assert.Contains("quote: 1 RTMR(s) differ from the replay:", stdout, StringComparison.Ordinal);
        Assert.Contains($"✗ event_log.rtmr3: expected {Rtmr3}, actual ", stdout, StringComparison.Ordinal);

        var (jsonExit, json, _) = CliRunner.Run("eventlog", "replay", "--log", path, "--output", "json");
        Assert.Equal(1, jsonExit);
        using var doc = JsonDocument.Parse(json);
        Assert.False(doc.RootElement.GetProperty("quote_rtmrs_match").GetBoolean());
        Assert.StartsWith("event_log.rtmr3:", doc.RootElement.GetProperty("mismatches")[0].GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("truncated.json", """[{"imr":0,"event_type":1,"dig""", "veil: invalid input: event_log: not valid JSON")]
    [InlineData("imr.json", """[{"imr":9,"event_type":1}]""", "veil: invalid input: event_log[0].imr: 9 is not an RTMR index (0 to 3)")]
    [InlineData("digest.json", """[{"imr":1,"event_type":4,"digest":"0011"}]""", "veil: invalid input: event_log[0].digest: 2 bytes; a boot-time event needs its 48-byte SHA-384 digest")]
    [InlineData("quote.json", """{"quote":"zz","event_log":"[]"}""", "veil: invalid input: getquote.quote: not hex")]
    public void Bad_json_is_a_named_error_without_a_stack_trace(string name, string text, string message)
    {
        var (exit, _, stderr) = CliRunner.Run("eventlog", "replay", "--log", Write(name, text));
        Assert.Equal(2, exit);
        Assert.StartsWith(message, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void The_binary_ccel_still_goes_to_the_tcg_parser()
    {
        var path = Path.Combine(temp, "bin.log");
        File.WriteAllBytes(path, [0x00, 0x01, 0x02, .. Encoding.ASCII.GetBytes("nope")]);
        var (exit, _, stderr) = CliRunner.Run("eventlog", "replay", "--log", path);
        Assert.Equal(2, exit);
        Assert.Contains("truncated", stderr, StringComparison.Ordinal);
    }
}
