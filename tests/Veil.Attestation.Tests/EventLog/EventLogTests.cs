using System.Text.Json;
using Veil.Attestation.EventLog;
using Veil.Attestation.Tdx;
using Veil.Tests.Shared;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.Tests.EventLog;

/// <summary>CCEL logs replay to the RTMRs their sources state; events parse as the sources' expected output.</summary>
public class EventLogTests
{
    private static RtmrReplay Trustee(string file) => RtmrReplay.Parse(Vectors.Bytes("trustee", "deps", "eventlog", "test_data", file));

    private static string Rtmr(RtmrReplay r, int i) => Hex.Lower(r.Rtmrs[i].Span);

    /// <summary>Trustee's MANIFEST abbreviates each value as its first 8 and last 4 hex digits; all 96 are checked where given in full.</summary>
    [Theory]
    [InlineData("CCEL_data", "2dc71230", "43f4", "0fa3be56", "d3cf", null, null)]
    [InlineData("CCEL_data_gcp", "33009807", "304f", "204d49f7", "1967", null, null)]
    [InlineData("CCEL_data_grub", "cec0a104", "bd79", "6c289e0c", "b670", "08919d01", "d31e")]
    [InlineData("CCEL_data_grub_gke", "bc994513", "544a", "c17cb288", "8a7b", "334aeba2", "eb6d")]
    [InlineData("CCEL_data_ovmf", "8566f998", "e193", "775b9f6b", "13c6", "94eaf7a7", "f34a")]
    public void Trustee_ccel_logs_replay_to_the_manifest_rtmrs(string file, string r0a, string r0b, string r1a, string r1b, string? r2a, string? r2b)
    {
        var replay = Trustee(file);
        Assert.StartsWith(r0a, Rtmr(replay, 0), StringComparison.Ordinal);
        Assert.EndsWith(r0b, Rtmr(replay, 0), StringComparison.Ordinal);
        Assert.StartsWith(r1a, Rtmr(replay, 1), StringComparison.Ordinal);
        Assert.EndsWith(r1b, Rtmr(replay, 1), StringComparison.Ordinal);
        if (r2a is null)
        {
            Assert.Equal(new string('0', 96), Rtmr(replay, 2));
        }
        else
        {
            Assert.StartsWith(r2a, Rtmr(replay, 2), StringComparison.Ordinal);
            Assert.EndsWith(r2b!, Rtmr(replay, 2), StringComparison.Ordinal);
        }

        Assert.Equal(new string('0', 96), Rtmr(replay, 3));
    }

    [Theory]
    [InlineData("CCEL_data", "CCEL_data_out.json")]
    [InlineData("CCEL_data_grub", "CCEL_data_grub_out.json")]
    [InlineData("CCEL_data_grub_gke", "CCEL_data_grub_gke_out.json")]
    [InlineData("CCEL_data_ovmf", "CCEL_data_ovmf_out.json")]
    [InlineData("CCEL_AAEL_alibabacloud", "CCEL_AAEL_alibabacloud_out.json")]
    public void Events_match_trustees_expected_parse(string file, string expected)
    {
        var replay = Trustee(file);
        using var doc = JsonDocument.Parse(Vectors.Bytes("trustee", "deps", "eventlog", "test_data", expected));
        var want = doc.RootElement.GetProperty("uefi_event_logs").EnumerateArray().ToList();
        // Trustee lists the measured events (its "index" is the register field); the Spec ID header is not an event.
        var got = replay.Events.ToList();
        Assert.Equal(want.Count, got.Count);
        for (var i = 0; i < want.Count; i++)
        {
            Assert.Equal(want[i].GetProperty("index").GetUInt32(), got[i].MrIndex);
            Assert.Equal(want[i].GetProperty("type_name").GetString(), got[i].TypeName);
            Assert.Equal(want[i].GetProperty("digests")[0].GetProperty("digest").GetString(), Hex.Lower(got[i].Digest(TcgDigest.Sha384)!.Value.Span));
            Assert.Equal(Convert.FromBase64String(want[i].GetProperty("event").GetString()!), got[i].Data.ToArray());
        }
    }

    [Fact]
    public void A_mismatching_expected_rtmr_is_reported_with_the_replayed_value()
    {
        // Trustee's error case: RTMR1 given as 2fa3be56… while the log replays to 0fa3be56….
        var replay = Trustee("CCEL_data");
        var replayed = Rtmr(replay, 1);
        var claimed = "2" + replayed[1..];
        var mismatches = replay.Compare([replay.Rtmrs[0], Convert.FromHexString(claimed), replay.Rtmrs[2], replay.Rtmrs[3]]);
        var m = Assert.Single(mismatches);
        Assert.Equal("event_log.rtmr1", m.Check);
        Assert.StartsWith("0fa3be56", m.Actual, StringComparison.Ordinal);
        Assert.StartsWith("2fa3be56", m.Expected, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gcp_cos_ccel_replays_to_the_rtmrs_of_its_signed_quote()
    {
        var log = RtmrReplay.Parse(Vectors.Bytes("go-tdx-guest", "testing-testdata", "ccel", "ccel_data.dat"));
        var quote = Vectors.Bytes("go-tdx-guest", "testing-testdata", "ccel", "cos-113-tdx-quote.dat");
        var verifier = new TdxVerifier(TdxCollateralSources.None, new FixedTimeProvider(DateTimeOffset.Parse("2025-01-01T00:00:00Z")), new TdxVerifierOptions { RequireCollateral = false });
        var result = await verifier.VerifyAsync(quote, new byte[64], log);
        Assert.True(result.Verified, string.Join("; ", result.Failures));
        Assert.True((long)result.Claims["tdx.event_log.count"] > 10);
        Assert.Contains((IReadOnlyList<string>)result.Claims["tdx.event_log.events"], e => e.StartsWith("rtmr", StringComparison.Ordinal) && e.Contains("EV_", StringComparison.Ordinal));

        // The trustee OVMF log belongs to another TD: every non-zero register mismatches and is named.
        var other = RtmrReplay.Parse(Vectors.Bytes("trustee", "deps", "eventlog", "test_data", "CCEL_data_ovmf"));
        var wrong = await verifier.VerifyAsync(quote, new byte[64], other);
        Assert.Contains(wrong.Failures, f => f.Check == "event_log.rtmr0");
        Assert.Contains(wrong.Failures, f => f.Check == "event_log.rtmr1");
    }

    [Fact]
    public void Event_descriptions_name_blobs_variables_and_actions()
    {
        var events = Trustee("CCEL_data_grub").Events;
        Assert.Contains(events, e => e.TypeName == "EV_EFI_VARIABLE_DRIVER_CONFIG" && e.Description == "SecureBoot");
        Assert.Contains(events, e => e.TypeName == "EV_EFI_ACTION" && e.Description == "Exit Boot Services Invocation");
        Assert.Contains(events, e => e.TypeName == "EV_EFI_HANDOFF_TABLES2" && e.Description == "TdxTable");
    }
}
