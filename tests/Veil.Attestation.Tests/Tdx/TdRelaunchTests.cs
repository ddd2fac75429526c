using System.Text;
using Veil.Attestation.Tdx;
using static Veil.Attestation.Tests.Tdx.TdxVectorCases;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.Tests.Tdx;

/// <summary>
/// Intel QVL's TD relaunch check on the real dcap-qvl TDX 1.5 quote (TEE_TCB_SVN 07 01 03, TEE_TCB_SVN2 0d 01 03: launched
/// under TDX_01 module SVN 7, now running SVN 13) with its real TCB Info, edited as text and parsed by the real parser.
/// Unedited, no platform level matches (PCK SEAMLDR SVN 3 &lt; 5); every case here first lowers that requirement to 3, so
/// the first level (UpToDate; TDX components 5,0,3) matches and TDX_01 grades SVN 7 as UpToDate (level 6).
/// </summary>
public class TdRelaunchTests
{
    private const string Seamldr5 = "{\"svn\":5,\"category\":\"OS/VMM\",\"type\":\"SEAMLDR ACM\"}";
    private const string LatestModuleLevel = "{\"tcb\":{\"isvsvn\":6},\"tcbDate\":\"2024-11-13T00:00:00Z\",\"tcbStatus\":\"UpToDate\"}";
    private const string FirstPlatformStatus = "\"tcbDate\":\"2024-11-13T00:00:00Z\",\"tcbStatus\":\"UpToDate\"},{\"tcb\":{\"sgxtcbcomponents\"";

    /// <summary>Offsets in the v5 quote: 48-byte header, 6-byte body descriptor, then the body.</summary>
    private const int TeeTcbSvn = 54;
    private const int TeeTcbSvn2 = 54 + 584;

    private static (TcbEvaluationResult Result, List<VerificationFailure> Failures, TdxQuote Quote) Grade(Func<string, string>? tcb = null, Func<string, string>? qe = null, Action<byte[]>? patch = null)
    {
        var bytes = DcapOutdated().Quote.ToArray();
        patch?.Invoke(bytes);
        var quote = TdxQuote.Parse(bytes);
        var pck = PckExtensions.From(Certificates.Load(quote.PckChain.Span.TrimEnd((byte)0), "pck")[0]);
        var collateral = DcapCollateral("tdx_quote_outdated_collateral.json");
        string Text(SignedJson s) => Encoding.UTF8.GetString(s.Body.Span);
        var tcbText = (tcb ?? (t => t))(Text(collateral.TcbInfoSigned).Replace(Seamldr5, Seamldr5.Replace("5", "3", StringComparison.Ordinal), StringComparison.Ordinal));
        var tcbInfo = TcbInfo.Parse(Encoding.UTF8.GetBytes(tcbText));
        var qeIdentity = QeIdentity.Parse(Encoding.UTF8.GetBytes((qe ?? (t => t))(Text(collateral.QeIdentitySigned))));
        var failures = new List<VerificationFailure>();
        return (TcbEvaluation.Evaluate(quote, pck, tcbInfo, qeIdentity, failures), failures, quote);
    }

    private static Func<string, string> Replace(string find, string replace) => text =>
    {
        var at = text.IndexOf(find, StringComparison.Ordinal);
        Assert.True(at >= 0, $"'{find}' not in the collateral");
        return text[..at] + replace + text[(at + find.Length)..];
    };

    private static Func<string, string> Both(Func<string, string> a, Func<string, string> b) => t => b(a(t));

    /// <summary>TDX_01's latest level becomes <paramref name="svn"/>, so the launch SVN 7 falls to level 4, OutOfDate.</summary>
    private static Func<string, string> LatestModuleSvn(int svn) => Replace(LatestModuleLevel, LatestModuleLevel.Replace("6", svn.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));

    private static Func<string, string> FirstPlatformLevel(string status) => Replace(FirstPlatformStatus, FirstPlatformStatus.Replace("UpToDate", status, StringComparison.Ordinal));

    [Fact]
    public void The_edited_base_is_up_to_date_and_not_advised_because_the_launch_module_is_current()
    {
        var (result, failures, quote) = Grade();
        Assert.Empty(failures);
        Assert.Equal("0d0103", Hex.Lower(quote.Body.TeeTcbSvn2!.Value.Span[..3]));
        Assert.Equal(TcbStatus.UpToDate, result.Platform!.Status);
        Assert.Equal(TcbStatus.UpToDate, result.Module!.Status);
        Assert.Equal(TcbStatus.UpToDate, result.Status);
        Assert.False(result.RelaunchAdvised);
        Assert.Equal("UpToDate", result.QvlStatus);
    }

    [Fact]
    public void An_out_of_date_launch_module_with_the_latest_module_running_is_relaunch_advised()
    {
        // TEE_TCB_SVN2: module SVN 13 ≥ TDX_01's latest level 13, microcode 3 ≥ the latest platform level's 3.
        var (result, failures, _) = Grade(tcb: LatestModuleSvn(13));
        Assert.Empty(failures);
        Assert.Equal(TcbStatus.OutOfDate, result.Module!.Status);
        Assert.Equal(TcbStatus.OutOfDate, result.Status);
        Assert.True(result.RelaunchAdvised);
        Assert.Equal(TdRelaunch.AdvisedStatus, result.QvlStatus);
        Assert.Contains("INTEL-SA-01036", result.AdvisoryIds);
    }

    [Fact]
    public void The_claims_carry_the_relaunch_outcome_and_keep_the_tcb_status()
    {
        var (result, _, quote) = Grade(tcb: LatestModuleSvn(13));
        var claims = TdxClaims.From(quote, null, result, null);
        Assert.Equal("OutOfDate", claims["tdx.tcb_status"]);
        Assert.Equal(true, claims["tdx.tcb.relaunch_advised"]);
        Assert.Equal("TDRelaunchAdvised", claims["tdx.tcb.qvl_status"]);

        var (current, _, _) = Grade();
        Assert.Equal(false, TdxClaims.From(quote, null, current, null)["tdx.tcb.relaunch_advised"]);
    }

    [Fact]
    public void A_running_module_below_the_latest_level_is_not_advised()
    {
        var (result, failures, _) = Grade(tcb: LatestModuleSvn(14));
        Assert.Empty(failures);
        Assert.Equal(TcbStatus.OutOfDate, result.Module!.Status);
        Assert.False(result.RelaunchAdvised);
        Assert.Equal("OutOfDate", result.QvlStatus);
    }

    [Fact]
    public void A_running_microcode_below_the_latest_platform_level_is_not_advised()
    {
        var (result, failures, _) = Grade(tcb: LatestModuleSvn(13), patch: q => q[TeeTcbSvn2 + 2] = 2);
        Assert.Empty(failures);
        Assert.False(result.RelaunchAdvised);
    }

    [Fact]
    public void A_configuration_needed_platform_gives_relaunch_advised_configuration_needed()
    {
        var (result, failures, _) = Grade(tcb: Both(LatestModuleSvn(13), FirstPlatformLevel("ConfigurationNeeded")));
        Assert.Empty(failures);
        Assert.Equal(TcbStatus.ConfigurationNeeded, result.Platform!.Status);
        Assert.Equal(TcbStatus.OutOfDate, result.Status);
        Assert.True(result.RelaunchAdvised);
        Assert.Equal(TdRelaunch.AdvisedConfigurationNeededStatus, result.QvlStatus);
    }

    [Fact]
    public void Without_relaunch_qvl_merges_configuration_needed_with_an_out_of_date_module_where_tcb_status_takes_the_worst()
    {
        var (result, _, _) = Grade(tcb: Both(LatestModuleSvn(14), FirstPlatformLevel("ConfigurationNeeded")));
        Assert.False(result.RelaunchAdvised);
        Assert.Equal(TcbStatus.OutOfDate, result.Status);
        Assert.Equal("OutOfDateConfigurationNeeded", result.QvlStatus);
    }

    [Fact]
    public void An_out_of_date_platform_is_not_advised()
    {
        var (result, failures, _) = Grade(tcb: Both(LatestModuleSvn(13), FirstPlatformLevel("OutOfDate")));
        Assert.Empty(failures);
        Assert.False(result.RelaunchAdvised);
        Assert.Equal("OutOfDate", result.QvlStatus);
    }

    [Fact]
    public void An_out_of_date_qe_is_not_advised()
    {
        var (result, failures, _) = Grade(tcb: LatestModuleSvn(13), qe: Replace("\"tcbStatus\":\"UpToDate\"", "\"tcbStatus\":\"OutOfDate\""));
        Assert.Empty(failures);
        Assert.Equal(TcbStatus.OutOfDate, result.Qe!.Status);
        Assert.False(result.RelaunchAdvised);
        Assert.Equal("OutOfDate", result.QvlStatus);
    }

    [Fact]
    public void The_sgx_part_is_the_first_level_the_sgx_components_meet_not_the_tdx_level()
    {
        // Launch microcode 2 < 3: the TDX level is the second (OutOfDate), the SGX level still the first (UpToDate), as in
        // QVL's matchTcbLevels. Judged by the TDX level's status, the check would not apply.
        var (result, failures, quote) = Grade(tcb: LatestModuleSvn(13), patch: q => q[TeeTcbSvn + 2] = 2);
        Assert.Empty(failures);
        Assert.Equal(2, quote.Body.TeeTcbSvn.Span[2]);
        Assert.Equal(TcbStatus.OutOfDate, result.Platform!.Status);
        Assert.True(result.RelaunchAdvised);
        Assert.Equal(TdRelaunch.AdvisedStatus, result.QvlStatus);
    }

    [Fact]
    public void An_out_of_date_tdx_level_with_a_current_launch_module_is_not_advised()
    {
        // Only the launch microcode (TEE_TCB_SVN[2] = 2) is behind: OutOfDate, but QVL advises relaunch only for the module.
        var (result, failures, _) = Grade(patch: q => q[TeeTcbSvn + 2] = 2);
        Assert.Empty(failures);
        Assert.Equal(TcbStatus.OutOfDate, result.Platform!.Status);
        Assert.Equal(TcbStatus.UpToDate, result.Module!.Status);
        Assert.False(result.RelaunchAdvised);
        Assert.Equal("OutOfDate", result.QvlStatus);
    }

    [Fact]
    public void With_running_module_version_0_the_latest_platform_level_gives_the_module_svn()
    {
        // TEE_TCB_SVN2[1] = 0: SVN2[0] (13) is compared with the latest level's TDX component 0 (5, then raised to 14).
        var zero = (Action<byte[]>)(q => q[TeeTcbSvn2 + 1] = 0);
        var (advised, failures, quote) = Grade(tcb: LatestModuleSvn(20), patch: zero);
        Assert.Empty(failures);
        Assert.Equal(0, quote.Body.TeeTcbSvn2!.Value.Span[1]);
        Assert.True(advised.RelaunchAdvised);

        const string latestTdx0 = "\"tdxtcbcomponents\":[{\"svn\":5,";
        var (notAdvised, _, _) = Grade(tcb: Both(LatestModuleSvn(20), Replace(latestTdx0, latestTdx0.Replace("5", "14", StringComparison.Ordinal))), patch: zero);
        Assert.Equal(TcbStatus.OutOfDate, notAdvised.Module!.Status);
        Assert.False(notAdvised.RelaunchAdvised);
    }

    [Fact]
    public void A_running_module_version_without_a_module_identity_is_a_named_failure_as_in_qvl()
    {
        var (result, failures, _) = Grade(tcb: LatestModuleSvn(13), patch: q => q[TeeTcbSvn2 + 1] = 2);
        var f = Assert.Single(failures);
        Assert.Equal("tcb.relaunch", f.Check);
        Assert.Contains("TDX_02", f.Expected, StringComparison.Ordinal);
        Assert.False(result.RelaunchAdvised);
        Assert.Null(result.QvlStatus);
        Assert.Equal(TcbStatus.OutOfDate, result.Status);

        // The same running version is not looked up when the check does not apply (launch module current).
        var (_, quiet, _) = Grade(patch: q => q[TeeTcbSvn2 + 1] = 2);
        Assert.Empty(quiet);
    }

    [Fact]
    public void A_td10_body_has_no_relaunch_outcome()
    {
        // dcap-qvl's TDX 1.0 quote (module SVN 6) with TDX_01's latest level raised to 7: OutOfDate, but no TEE_TCB_SVN2.
        var quote = TdxQuote.Parse(DcapTdx().Quote);
        Assert.Null(quote.Body.TeeTcbSvn2);
        Assert.Null(quote.Body.MrServiceTd);
        var pck = PckExtensions.From(Certificates.Load(quote.PckChain.Span.TrimEnd((byte)0), "pck")[0]);
        var collateral = DcapCollateral("tdx_quote_collateral.json");
        var tcbText = Encoding.UTF8.GetString(collateral.TcbInfoSigned.Body.Span);
        tcbText = Replace("{\"tcb\":{\"isvsvn\":4},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"UpToDate\"}", "{\"tcb\":{\"isvsvn\":7},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"UpToDate\"}")(tcbText);
        var failures = new List<VerificationFailure>();
        var result = TcbEvaluation.Evaluate(quote, pck, TcbInfo.Parse(Encoding.UTF8.GetBytes(tcbText)), QeIdentity.Parse(collateral.QeIdentitySigned.Body), failures);
        Assert.Empty(failures);
        Assert.Equal(TcbStatus.OutOfDate, result.Module!.Status);
        Assert.Null(result.RelaunchAdvised);
        Assert.Equal("OutOfDate", result.QvlStatus);
        var claims = TdxClaims.From(quote, pck, result, null);
        Assert.False(claims.ContainsKey("tdx.tcb.relaunch_advised"));
        Assert.False(claims.ContainsKey("tdx.tee_tcb_svn2"));
        Assert.False(claims.ContainsKey("tdx.mr_servicetd"));
        Assert.Equal("OutOfDate", claims["tdx.tcb_status"]);
    }

    [Theory]
    [InlineData(TcbStatus.UpToDate, null, TcbStatus.UpToDate)]
    [InlineData(TcbStatus.ConfigurationNeeded, TcbStatus.UpToDate, TcbStatus.ConfigurationNeeded)]
    [InlineData(TcbStatus.SWHardeningNeeded, TcbStatus.OutOfDate, TcbStatus.OutOfDate)]
    [InlineData(TcbStatus.ConfigurationAndSWHardeningNeeded, TcbStatus.OutOfDate, TcbStatus.OutOfDateConfigurationNeeded)]
    [InlineData(TcbStatus.OutOfDateConfigurationNeeded, TcbStatus.OutOfDate, TcbStatus.OutOfDateConfigurationNeeded)]
    [InlineData(TcbStatus.UpToDate, TcbStatus.Revoked, TcbStatus.Revoked)]
    public void Module_convergence_follows_qvl(TcbStatus level, TcbStatus? module, TcbStatus expected) =>
        Assert.Equal(expected, TdRelaunch.ConvergeModule(level, module));

    [Theory]
    [InlineData(TcbStatus.ConfigurationNeeded, TcbStatus.UpToDate, TcbStatus.ConfigurationNeeded)]
    [InlineData(TcbStatus.SWHardeningNeeded, TcbStatus.OutOfDate, TcbStatus.OutOfDate)]
    [InlineData(TcbStatus.ConfigurationNeeded, TcbStatus.OutOfDate, TcbStatus.OutOfDateConfigurationNeeded)]
    [InlineData(TcbStatus.OutOfDate, TcbStatus.SWHardeningNeeded, TcbStatus.OutOfDate)]
    [InlineData(TcbStatus.UpToDate, TcbStatus.SWHardeningNeeded, TcbStatus.OutOfDate)]
    [InlineData(TcbStatus.UpToDate, TcbStatus.Revoked, TcbStatus.Revoked)]
    public void Qe_convergence_follows_qvl(TcbStatus tdx, TcbStatus qe, TcbStatus expected) =>
        Assert.Equal(expected, TdRelaunch.ConvergeQe(tdx, qe));
}
