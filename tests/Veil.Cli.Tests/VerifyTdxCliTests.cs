using System.Text;
using System.Text.Json;
using Veil.Tests.Shared;

namespace Veil.Cli.Tests;

/// <summary><c>veil verify tdx</c> and <c>veil eventlog replay</c> as a user runs them: exit codes, JSON shape, named errors.</summary>
public sealed class VerifyTdxCliTests : IDisposable
{
    private static readonly string Dcap = Vectors.Path("dcap-qvl", "sample");
    private static readonly string GoTdx = Vectors.Path("go-tdx-guest", "testing-testdata");
    private readonly string temp = Directory.CreateTempSubdirectory("veil-cli-tdx-").FullName;

    public void Dispose() => Directory.Delete(temp, recursive: true);

    private static string[] Dcap4(params string[] extra) =>
    [
        "verify", "tdx", "--quote", Path.Combine(Dcap, "tdx_quote"), "--collateral", Path.Combine(Dcap, "tdx_quote_collateral.json"),
        "--at", "2025-07-19T10:00:34Z", .. extra,
    ];

    [Fact]
    public void Verified_quote_exits_0_with_the_snp_json_shape_and_the_tdx_claims()
    {
        var (exit, stdout, stderr) = CliRunner.Run(Dcap4("--output", "json"));
        Assert.Equal(0, exit);
        Assert.Equal("", stderr);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        Assert.True(root.GetProperty("verified").GetBoolean());
        Assert.Equal("tdx", root.GetProperty("tee").GetString());
        Assert.Equal(0, root.GetProperty("failures").GetArrayLength());
        var claims = root.GetProperty("claims");
        Assert.Equal("UpToDate", claims.GetProperty("tdx.tcb_status").GetString());
        Assert.Equal(0, claims.GetProperty("tdx.advisory_ids").GetArrayLength());
        Assert.Equal(4, claims.GetProperty("tdx.version").GetInt32());
        Assert.Equal("b0c06f000000", claims.GetProperty("tdx.fmspc").GetString());
        Assert.True(claims.GetProperty("tdx.td_attributes.sept_ve_disable").GetBoolean());
        foreach (var name in new[] { "tdx.mr_td", "tdx.rtmr0", "tdx.rtmr1", "tdx.rtmr2", "tdx.rtmr3", "tdx.mr_seam", "tdx.mr_config_id", "tdx.mr_owner", "tdx.mr_owner_config", "tdx.report_data", "tdx.xfam", "tdx.tee_tcb_svn" })
        {
            Assert.True(claims.TryGetProperty(name, out _), name);
        }
    }

    [Fact]
    public void Text_output_lists_the_status_qvl_would_report_and_no_relaunch_outcome_for_a_td10_quote()
    {
        var (exit, stdout, _) = CliRunner.Run(Dcap4());
        Assert.Equal(0, exit);
        Assert.Matches(@"(?m)^  tdx\.tcb\.qvl_status +UpToDate$", stdout);
        Assert.DoesNotContain("tdx.tcb.relaunch_advised", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("tdx.tee_tcb_svn2", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Hex_quote_from_a_file_is_read_as_hex()
    {
        var hexFile = Path.Combine(temp, "quote.hex");
        File.WriteAllText(hexFile, "0x" + Convert.ToHexStringLower(File.ReadAllBytes(Path.Combine(Dcap, "tdx_quote"))));
        var args = Dcap4();
        args[3] = hexFile;
        var (exit, stdout, _) = CliRunner.Run(args);
        Assert.Equal(0, exit);
        Assert.StartsWith("tdx: VERIFIED", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Outdated_platform_exits_1_naming_no_matching_tcb_level()
    {
        var (exit, stdout, _) = CliRunner.Run("verify", "tdx", "--quote", Path.Combine(Dcap, "tdx_quote_outdated"), "--collateral", Path.Combine(Dcap, "tdx_quote_outdated_collateral.json"), "--at", "2026-03-20T10:41:14Z");
        Assert.Equal(1, exit);
        Assert.Contains("failed tcb.platform: expected a TCB level the platform meets, actual no matching TCB level", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Report_data_mismatch_and_expired_collateral_exit_1_with_named_checks()
    {
        var (exit, stdout, _) = CliRunner.Run(Dcap4("--report-data", new string('a', 128), "--output", "json"));
        Assert.Equal(1, exit);
        Assert.Contains("\"quote.report_data\"", stdout, StringComparison.Ordinal);
        var late = Dcap4();
        late[7] = "2025-08-01T00:00:00Z";
        var (exit2, stdout2, _) = CliRunner.Run(late);
        Assert.Equal(1, exit2);
        Assert.Contains("failed tcb_info.next_update", stdout2, StringComparison.Ordinal);
    }

    [Fact]
    public void Collateral_directory_and_no_collateral_modes()
    {
        var quote = Path.Combine(GoTdx, "tdx_prod_quote_SPR_E4.dat");
        var (exit, stdout, _) = CliRunner.Run("verify", "tdx", "--quote", quote, "--no-collateral", "--at", "2023-07-01T01:00:00Z");
        Assert.Equal(0, exit);
        Assert.DoesNotContain("tdx.tcb_status", stdout, StringComparison.Ordinal);
        var (strict, strictOut, _) = CliRunner.Run("verify", "tdx", "--quote", quote, "--at", "2023-07-01T01:00:00Z");
        Assert.Equal(1, strict);
        Assert.Contains("failed collateral", strictOut, StringComparison.Ordinal);

        File.Copy(Path.Combine(GoTdx, "sample_tcbInfo_response"), Path.Combine(temp, "tcb_info.json"));
        File.Copy(Path.Combine(GoTdx, "sample_qeIdentity_response"), Path.Combine(temp, "qe_identity.json"));
        File.Copy(Path.Combine(GoTdx, "pckcrl"), Path.Combine(temp, "pck_crl.der"));
        File.Copy(Path.Combine(GoTdx, "rootcrl.der"), Path.Combine(temp, "root_ca_crl.der"));
        File.Copy(Vectors.Path("go-tdx-guest", "derived", "tcbInfo_issuer_chain.pem"), Path.Combine(temp, "tcb_info_issuer_chain.pem"));
        File.Copy(Vectors.Path("go-tdx-guest", "derived", "qeIdentity_issuer_chain.pem"), Path.Combine(temp, "qe_identity_issuer_chain.pem"));
        File.Copy(Vectors.Path("go-tdx-guest", "derived", "pckCrl_issuer_chain.pem"), Path.Combine(temp, "pck_crl_issuer_chain.pem"));
        var (dirExit, dirOut, _) = CliRunner.Run("verify", "tdx", "--quote", quote, "--collateral-dir", temp, "--at", "2023-07-01T01:00:00Z", "--output", "json");
        Assert.Equal(1, dirExit);
        using var doc = JsonDocument.Parse(dirOut);
        Assert.Equal("tcb.platform", Assert.Single(doc.RootElement.GetProperty("failures").EnumerateArray()).GetProperty("check").GetString());
        // A failed verification's claims sit apart, under unverified_claims: nothing reads them as verified claims.
        Assert.False(doc.RootElement.TryGetProperty("claims", out _));
        Assert.Equal("UpToDate", doc.RootElement.GetProperty("unverified_claims").GetProperty("tdx.tcb.qe_status").GetString());
    }

    [Fact]
    public void Event_log_is_replayed_against_the_quote()
    {
        var ccel = Path.Combine(GoTdx, "ccel");
        var (exit, stdout, _) = CliRunner.Run("verify", "tdx", "--quote", Path.Combine(ccel, "cos-113-tdx-quote.dat"), "--no-collateral",
            "--event-log", Path.Combine(ccel, "ccel_data.dat"), "--report-data", new string('0', 128), "--at", "2025-01-01T00:00:00Z");
        Assert.Equal(0, exit);
        Assert.Contains("tdx.event_log.count", stdout, StringComparison.Ordinal);
        var (bad, badOut, _) = CliRunner.Run("verify", "tdx", "--quote", Path.Combine(ccel, "cos-113-tdx-quote.dat"), "--no-collateral",
            "--event-log", Vectors.Path("trustee", "deps", "eventlog", "test_data", "CCEL_data_ovmf"), "--at", "2025-01-01T00:00:00Z");
        Assert.Equal(1, bad);
        Assert.Contains("failed event_log.rtmr0", badOut, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(47)]
    [InlineData(700)]
    [InlineData(3000)]
    public void Truncated_quote_exits_2_with_a_named_reason_and_no_trace(int length)
    {
        var path = Path.Combine(temp, "bad.dat");
        File.WriteAllBytes(path, File.ReadAllBytes(Path.Combine(Dcap, "tdx_quote"))[..length]);
        var (exit, stdout, stderr) = CliRunner.Run("verify", "tdx", "--quote", path, "--no-collateral");
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.StartsWith("veil: invalid input: quote", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Conflicting_collateral_options_are_bad_usage()
    {
        var (exit, _, stderr) = CliRunner.Run(Dcap4("--no-collateral"));
        Assert.Equal(2, exit);
        Assert.Contains("--no-collateral", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Eventlog_replay_prints_rtmrs_and_events_as_text_and_json()
    {
        var log = Vectors.Path("trustee", "deps", "eventlog", "test_data", "CCEL_data_grub");
        var (exit, stdout, _) = CliRunner.Run("eventlog", "replay", "--log", log);
        Assert.Equal(0, exit);
        Assert.Contains("rtmr0  cec0a104", stdout, StringComparison.Ordinal);
        Assert.Contains("37 events:", stdout, StringComparison.Ordinal);
        Assert.Contains("EV_EFI_ACTION", stdout, StringComparison.Ordinal);

        var (jsonExit, json, _) = CliRunner.Run("eventlog", "replay", "--log", log, "--output", "json");
        Assert.Equal(0, jsonExit);
        using var doc = JsonDocument.Parse(json);
        Assert.StartsWith("6c289e0c", doc.RootElement.GetProperty("rtmrs").GetProperty("rtmr1").GetString(), StringComparison.Ordinal);
        var events = doc.RootElement.GetProperty("events");
        Assert.Equal(37, events.GetArrayLength());
        Assert.Equal("rtmr0", events[0].GetProperty("register").GetString());
        Assert.Equal(96, events[0].GetProperty("digests").GetProperty("sha384").GetString()!.Length);
    }

    [Fact]
    public void Eventlog_replay_of_a_non_log_exits_2()
    {
        var path = Path.Combine(temp, "junk.bin");
        File.WriteAllBytes(path, Encoding.ASCII.GetBytes("this is not an event log, not at all"));
        var (exit, _, stderr) = CliRunner.Run("eventlog", "replay", "--log", path);
        Assert.Equal(2, exit);
        Assert.StartsWith("veil: invalid input: event_log", stderr, StringComparison.Ordinal);
    }
}
