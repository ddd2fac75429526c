using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Veil.Attestation.Dstack;
using Veil.Attestation.EventLog;
using Veil.Attestation.Tdx;
using Veil.Tests.Shared;

namespace Veil.Attestation.Tests.EventLog;

/// <summary>
/// dstack's JSON event log against upstream's own GetQuote capture (testdata/dstack/MANIFEST.md): it replays to the
/// quote's RTMRs, and every malformed, oversized or edited log is refused with the field named or shows up as the RTMR
/// it changed.
/// </summary>
public class DstackEventLogTests
{
    public const string Rtmr0 = "f8438db36b96f85d8752ff7f24a89ec05c79ec9eda2ba732c897fb970ca429365b7471b1c054cb84f17b1c2b23ba6640";
    public const string Rtmr1 = "2023546e7f3b9d1228e274f70c44d481162540f8452544520a796a52f06879709b81a824a26792a7822327504b0d2aee";
    public const string Rtmr2 = "4c1b739ed451a637b0f82642e48a5ea83925d23633c72e7385c8e9aca4175e133ed1625b7d92eb39edf509c27ff392dc";
    public const string Rtmr3 = "6f24c170d0fd63fc2b1b53202eea47b013978437fa6982cf5e0438ff95c208994aaa0f4ebab2e3a66824b5b56869137e";

    /// <summary>After the PCK leaf's notBefore (2026-04-15).</summary>
    public static readonly DateTimeOffset At = DateTimeOffset.Parse("2026-06-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    public static byte[] Fixture() => File.ReadAllBytes(Path.Combine(Vectors.RepoRoot, "testdata", "dstack", "tdx-lite-getquote.json"));

    public static string FixtureLog() => JsonNode.Parse(Fixture())!["event_log"]!.GetValue<string>();

    private static JsonArray Events() => JsonNode.Parse(FixtureLog())!.AsArray();

    private static RtmrReplay Replay(JsonNode log) => DstackEventLog.Replay(Encoding.UTF8.GetBytes(log.ToJsonString()));

    private static EvidenceFormatException Refused(string json) =>
        Assert.Throws<EvidenceFormatException>(() => DstackEventLog.Parse(Encoding.UTF8.GetBytes(json)));

    [Fact]
    public void The_upstream_getquote_answer_replays_to_its_quotes_rtmrs()
    {
        var answer = DstackQuoteResponse.Parse(Fixture());
        var replay = RtmrReplay.Replay(DstackEventLog.ToTcg(answer.Events));
        Assert.Equal([Rtmr0, Rtmr1, Rtmr2, Rtmr3], replay.Rtmrs.Select(r => Hex.Lower(r.Span)));
        var quote = TdxQuoteInput.Parse(answer.Quote);
        Assert.Empty(replay.Compare(quote.Body.Rtmrs));
        Assert.Equal(29, answer.Events.Count);
        Assert.Equal(9, answer.Events.Count(e => e.EventType == DstackEventLog.RuntimeEventType));
        Assert.Equal("dip1::secp256k1c-pk:A55pWmteJIJOj8_pI7-pzeDxy1G2q18GDv88HNRdBXkQ", Encoding.ASCII.GetString(answer.ReportData!));
        Assert.Contains(replay.EventLines(), l => l.StartsWith("rtmr3 DSTACK_RUNTIME_EVENT ", StringComparison.Ordinal) && l.EndsWith("compose-hash: 86b0e55f2fa8e4fb69d890f14f54d5612707646e2573d54e0d2ddaaade77caa9", StringComparison.Ordinal));
    }

    [Fact]
    public void The_array_the_string_holding_it_and_the_whole_answer_parse_alike()
    {
        var fromAnswer = DstackEventLog.Parse(Fixture());
        var fromArray = DstackEventLog.Parse(Encoding.UTF8.GetBytes(FixtureLog()));
        var fromString = DstackEventLog.Parse(Encoding.UTF8.GetBytes(JsonValue.Create(FixtureLog()).ToJsonString()));
        Assert.Equal(fromArray.Select(e => Hex.Lower(e.Digest.Span)), fromAnswer.Select(e => Hex.Lower(e.Digest.Span)));
        Assert.Equal(fromArray.Select(e => Hex.Lower(e.Digest.Span)), fromString.Select(e => Hex.Lower(e.Digest.Span)));
    }

    [Fact]
    public async Task The_quote_verifies_with_the_replayed_log_and_its_report_data_without_collateral()
    {
        var answer = DstackQuoteResponse.Parse(Fixture());
        var verifier = new TdxVerifier(TdxCollateralSources.None, new FixedTimeProvider(At), new TdxVerifierOptions { RequireCollateral = false });
        var ok = await verifier.VerifyAsync(answer.Quote, answer.ReportData, RtmrReplay.Replay(DstackEventLog.ToTcg(answer.Events)));
        Assert.True(ok.Verified, string.Join("; ", ok.Failures));
        Assert.Equal("fd685522ce791dfef67414614eb07d03fc07a32c5a66f36288b329dab92b724b1564c73d436ffb9ea84488c51ac5a1c5", ok.Claims["tdx.mr_td"]);

        // One RTMR3 payload changed: the verifier names the register with the quote's and the replayed value.
        var events = Events();
        events[22]!["event_payload"] = "00" + events[22]!["event_payload"]!.GetValue<string>()[2..];
        var bad = await verifier.VerifyAsync(answer.Quote, answer.ReportData, Replay(events));
        var failure = Assert.Single(bad.Failures, f => f.Check.StartsWith("event_log.", StringComparison.Ordinal));
        Assert.Equal("event_log.rtmr3", failure.Check);
        Assert.Equal(Rtmr3, failure.Expected);
        Assert.EndsWith("(replayed)", failure.Actual, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, "digest", 0)]
    [InlineData(11, "digest", 1)]
    [InlineData(16, "digest", 2)]
    [InlineData(21, "event_payload", 3)]
    public void A_flipped_byte_changes_exactly_its_register(int index, string field, int register)
    {
        var events = Events();
        var hex = events[index]![field]!.GetValue<string>();
        events[index]![field] = (hex[0] == 'f' ? "e" : "f") + hex[1..];
        var failures = Replay(events).Compare(TdxQuoteInput.Parse(DstackQuoteResponse.Parse(Fixture()).Quote).Body.Rtmrs);
        var f = Assert.Single(failures);
        Assert.Equal($"event_log.rtmr{register}", f.Check);
    }

    [Fact]
    public void Reordered_or_missing_events_change_the_replay()
    {
        var events = Events();
        var last = events[^1]!.DeepClone();
        events.RemoveAt(events.Count - 1);
        Assert.NotEqual(Rtmr3, Hex.Lower(Replay(events).Rtmrs[3].Span));
        events.Insert(21, last);
        Assert.NotEqual(Rtmr3, Hex.Lower(Replay(events).Rtmrs[3].Span));
    }

    [Fact]
    public void Runtime_digests_follow_upstreams_v1_and_v2_definitions()
    {
        // runtime_events.rs v1_digest_unchanged: SHA-384(u32 LE type ‖ ":" ‖ name ‖ ":" ‖ payload).
        byte[] v1 = [.. BitConverter.GetBytes(0x08000001u), .. ":app-id:"u8, 0xde, 0xad, 0xbe, 0xef];
        Assert.Equal(SHA384.HashData(v1), DstackEventLog.RuntimeDigest("app-id", [0xde, 0xad, 0xbe, 0xef], 1));

        // runtime_events.rs v2_digest_is_canonical_json_hash and canonical_json_escapes_special_chars: the exact JCS text.
        Assert.Equal(SHA384.HashData("{\"event\":\"compose-hash\",\"event_type\":134217729,\"payload\":\"abcd\",\"version\":2}"u8), DstackEventLog.RuntimeDigest("compose-hash", [0xab, 0xcd], 2));
        Assert.Equal(SHA384.HashData("{\"event\":\"event\\\"with\\\\special\\nchars\",\"event_type\":134217729,\"payload\":\"ff\",\"version\":2}"u8), DstackEventLog.RuntimeDigest("event\"with\\special\nchars", [0xff], 2));
        Assert.Equal(SHA384.HashData("{\"event\":\"\\b\\f\\n\\r\\t\\u0001\",\"event_type\":134217729,\"payload\":\"\",\"version\":2}"u8), DstackEventLog.RuntimeDigest("\b\f\n\r\t\u0001", [], 2));
        Assert.Equal(SHA384.HashData(Encoding.UTF8.GetBytes("{\"event\":\"测试-emoji-🦀\",\"event_type\":134217729,\"payload\":\"\",\"version\":2}")), DstackEventLog.RuntimeDigest("测试-emoji-🦀", [], 2));
    }

    [Fact]
    public void A_logged_runtime_digest_must_be_the_recomputed_one()
    {
        var events = Events();
        events[21]!["digest"] = new string('a', 96);
        var e = Assert.Throws<EvidenceFormatException>(() => Replay(events));
        Assert.Equal("event_log[21].digest", e.Field);
        Assert.Contains("is not the digest of event 'app-id'", e.Reason, StringComparison.Ordinal);

        // The right digest, logged, is accepted; a version-2 event is digested the v2 way.
        events = Events();
        events[21]!["digest"] = Hex.Lower(DstackEventLog.RuntimeDigest("app-id", Convert.FromHexString("86b0e55f2fa8e4fb69d890f14f54d5612707646e"), 1));
        Assert.Equal(Rtmr3, Hex.Lower(Replay(events).Rtmrs[3].Span));
        events[21]!["version"] = 2;
        Assert.Equal("event_log[21].digest", Assert.Throws<EvidenceFormatException>(() => Replay(events)).Field);
        events[21]!["digest"] = "";
        Assert.NotEqual(Rtmr3, Hex.Lower(Replay(events).Rtmrs[3].Span));
    }

    [Theory]
    [InlineData("""[{"imr":4,"event_type":1,"digest":"DIGEST"}]""", "event_log[0].imr", "4 is not an RTMR index")]
    [InlineData("""[{"event_type":1,"digest":"DIGEST"}]""", "event_log[0].imr", "missing")]
    [InlineData("""[{"imr":-1,"event_type":1,"digest":"DIGEST"}]""", "event_log[0].imr", "unsigned 32-bit")]
    [InlineData("""[{"imr":"0","event_type":1,"digest":"DIGEST"}]""", "event_log[0].imr", "unsigned 32-bit")]
    [InlineData("""[{"imr":0,"event_type":4294967296,"digest":"DIGEST"}]""", "event_log[0].event_type", "unsigned 32-bit")]
    [InlineData("""[{"imr":0,"event_type":1.5,"digest":"DIGEST"}]""", "event_log[0].event_type", "unsigned 32-bit")]
    [InlineData("""[{"imr":0,"event_type":1,"digest":"abcd"}]""", "event_log[0].digest", "2 bytes; a boot-time event needs its 48-byte")]
    [InlineData("""[{"imr":0,"event_type":1}]""", "event_log[0].digest", "0 bytes")]
    [InlineData("""[{"imr":0,"event_type":1,"digest":"DIGESTff"}]""", "event_log[0].digest", "more than the 48 accepted")]
    [InlineData("""[{"imr":0,"event_type":1,"digest":"zz"}]""", "event_log[0].digest", "not hex")]
    [InlineData("""[{"imr":0,"event_type":1,"digest":"abc"}]""", "event_log[0].digest", "not hex")]
    [InlineData("""[{"imr":0,"event_type":1,"digest":7}]""", "event_log[0].digest", "expected a string")]
    [InlineData("""[{"imr":2,"event_type":134217729,"event":"app-id"}]""", "event_log[0].imr", "RTMR3 only")]
    [InlineData("""[{"imr":3,"event_type":134217729,"event":"x","version":3}]""", "event_log[0].version", "not a dstack event log version")]
    [InlineData("""[{"imr":3,"event_type":134217729,"event":"x","event_payload":"0g"}]""", "event_log[0].event_payload", "not hex")]
    [InlineData("""[7]""", "event_log[0]", "expected an object")]
    [InlineData("""{"quote":"00"}""", "event_log", "an object without event_log")]
    [InlineData("""{"event_log":"{}"}""", "event_log.event_log", "does not hold a JSON array")]
    [InlineData("""{"event_log":5}""", "event_log.event_log", "expected an array of events, got number")]
    [InlineData("""[{"imr":0,"event_type":1,"digest":"DIGEST"}""", "event_log", "not valid JSON")]
    [InlineData("""[[[[[[[[[[]]]]]]]]]]""", "event_log", "not valid JSON")]
    public void Wrong_values_are_refused_naming_the_field(string json, string field, string reason)
    {
        var e = Refused(json.Replace("DIGEST", new string('0', 96), StringComparison.Ordinal));
        Assert.Equal(field, e.Field);
        Assert.Contains(reason, e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_logs_are_refused_at_every_cut()
    {
        var log = Encoding.UTF8.GetBytes(FixtureLog());
        for (var cut = 0; cut < log.Length; cut += 97)
        {
            var e = Assert.Throws<EvidenceFormatException>(() => DstackEventLog.Parse(log.AsSpan(0, cut)));
            Assert.StartsWith("event_log", e.Field, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Oversized_logs_events_names_and_payloads_are_refused_before_use()
    {
        var big = new byte[DstackEventLog.MaxBytes + 1];
        big[0] = (byte)'[';
        Assert.Contains("more than the", Assert.Throws<EvidenceFormatException>(() => DstackEventLog.Parse(big)).Reason, StringComparison.Ordinal);

        var many = "[" + string.Join(",", Enumerable.Repeat("{}", DstackEventLog.MaxEvents + 1)) + "]";
        Assert.Contains($"{DstackEventLog.MaxEvents + 1} events, more than", Refused(many).Reason, StringComparison.Ordinal);

        var name = $$"""[{"imr":3,"event_type":134217729,"event":"{{new string('n', DstackEventLog.MaxNameLength + 1)}}"}]""";
        Assert.Equal("event_log[0].event", Refused(name).Field);

        var payload = $$"""[{"imr":3,"event_type":134217729,"event":"x","event_payload":"{{new string('a', 2 * DstackEventLog.MaxPayloadBytes + 2)}}"}]""";
        var e = Refused(payload);
        Assert.Equal("event_log[0].event_payload", e.Field);
        Assert.Contains("more than the 65536 accepted", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_is_told_from_a_binary_ccel_by_its_first_byte()
    {
        Assert.True(DstackEventLog.IsJson(" \n[{}]"u8));
        Assert.True(DstackEventLog.IsJson(Fixture()));
        Assert.False(DstackEventLog.IsJson(Vectors.Bytes("trustee", "deps", "eventlog", "test_data", "CCEL_data_ovmf")));
        Assert.False(DstackEventLog.IsJson([]));
    }

    [Fact]
    public void A_report_built_on_the_upstream_quote_binds_signing_address_and_nonce_and_refuses_bad_fields()
    {
        var answer = DstackQuoteResponse.Parse(Fixture());
        var report = ReportJson(answer);
        var parsed = DstackReport.Parse(Encoding.UTF8.GetBytes(report.ToJsonString()));
        Assert.Equal(answer.ReportData, parsed.ExpectedReportData());
        Assert.Equal(29, parsed.Events.Count);

        // A 20-byte address is zero-padded to 32 before the nonce.
        var padded = DstackReport.ExpectedReportData(Enumerable.Repeat((byte)0xab, 20).ToArray(), new byte[32]);
        Assert.Equal(Enumerable.Repeat((byte)0xab, 20).Concat(new byte[44]).ToArray(), padded);

        foreach (var (field, value, where, why) in new (string, JsonNode?, string, string)[]
        {
            ("request_nonce", "abcd", "report.request_nonce", "2 bytes; expected 32"),
            ("signing_address", "0x" + new string('a', 66), "report.signing_address", "33 bytes"),
            ("signing_address", "", "report.signing_address", "0 bytes"),
            ("intel_quote", null, "report.intel_quote", "missing"),
            ("intel_quote", "xyz", "report.intel_quote", "not hex"),
            ("nvidia_payload", 5, "report.nvidia_payload", "expected a JSON string or object"),
            ("event_log", null, "report.event_log", "missing"),
        })
        {
            var bad = ReportJson(answer);
            bad[field] = value;
            var e = Assert.Throws<EvidenceFormatException>(() => DstackReport.Parse(Encoding.UTF8.GetBytes(bad.ToJsonString())));
            Assert.Equal(where, e.Field);
            Assert.Contains(why, e.Reason, StringComparison.Ordinal);
        }

        Assert.Equal("report", Assert.Throws<EvidenceFormatException>(() => DstackReport.Parse("[]"u8)).Field);
    }

    /// <summary>The gateway form around the upstream quote: its report data's halves become signing address and nonce.</summary>
    public static JsonObject ReportJson(DstackQuoteResponse answer) => new()
    {
        ["signing_address"] = "0x" + Hex.Lower(answer.ReportData.AsSpan(0, 32)),
        ["signing_algo"] = "ed25519",
        ["request_nonce"] = Hex.Lower(answer.ReportData.AsSpan(32, 32)),
        ["intel_quote"] = Hex.Lower(answer.Quote),
        ["event_log"] = JsonNode.Parse(FixtureLog()),
        ["info"] = new JsonObject { ["app_name"] = "fixture" },
    };
}
