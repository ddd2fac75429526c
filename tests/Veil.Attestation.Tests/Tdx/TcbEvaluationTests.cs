using System.Text;
using Veil.Attestation.Tdx;
using static Veil.Attestation.Tests.Tdx.TdxVectorCases;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.Tests.Tdx;

/// <summary>
/// Grading rules on the dcap-qvl TDX quote with its real TCB Info and QE Identity, one level edited at a time:
/// the worst part wins, advisories are the union, Revoked fails.
/// </summary>
public class TcbEvaluationTests
{
    private static (TcbEvaluationResult Result, List<VerificationFailure> Failures) Grade(Func<string, string>? tcb = null, Func<string, string>? qe = null)
    {
        var quote = TdxQuote.Parse(DcapTdx().Quote);
        var pck = PckExtensions.From(Certificates.Load(quote.PckChain.Span.TrimEnd((byte)0), "pck")[0]);
        var collateral = DcapCollateral("tdx_quote_collateral.json");
        string Text(SignedJson s) => Encoding.UTF8.GetString(s.Body.Span);
        var tcbInfo = TcbInfo.Parse(Encoding.UTF8.GetBytes((tcb ?? (t => t))(Text(collateral.TcbInfoSigned))));
        var qeIdentity = QeIdentity.Parse(Encoding.UTF8.GetBytes((qe ?? (t => t))(Text(collateral.QeIdentitySigned))));
        var failures = new List<VerificationFailure>();
        return (TcbEvaluation.Evaluate(quote, pck, tcbInfo, qeIdentity, failures), failures);
    }

    private static Func<string, string> Replace(string find, string replace) => text =>
    {
        Assert.Contains(find, text, StringComparison.Ordinal);
        var at = text.IndexOf(find, StringComparison.Ordinal);
        return text[..at] + replace + text[(at + find.Length)..];
    };

    [Fact]
    public void Unedited_collateral_grades_every_part_UpToDate()
    {
        var (result, failures) = Grade();
        Assert.Empty(failures);
        Assert.Equal(TcbStatus.UpToDate, result.Status);
        Assert.Equal(TcbStatus.UpToDate, result.Platform!.Status);
        Assert.Equal(TcbStatus.UpToDate, result.Module!.Status);
        Assert.Equal(TcbStatus.UpToDate, result.Qe!.Status);
    }

    [Fact]
    public void The_worst_part_decides_and_advisories_are_joined()
    {
        // The matching TDX_01 module level (isvsvn 4) becomes SWHardeningNeeded, the matching (first) platform level
        // ConfigurationNeeded, each with an advisory.
        const string platformLevels = "\"tcbLevels\":[{\"tcb\":{\"sgxtcbcomponents\"";
        var (result, failures) = Grade(tcb: t =>
        {
            var module = Replace(
                "{\"tcb\":{\"isvsvn\":4},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"UpToDate\"}",
                "{\"tcb\":{\"isvsvn\":4},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"SWHardeningNeeded\",\"advisoryIDs\":[\"INTEL-SA-00999\"]}")(t);
            var at = module.IndexOf(platformLevels, StringComparison.Ordinal);
            return module[..at] + Replace("\"tcbStatus\":\"UpToDate\"}", "\"tcbStatus\":\"ConfigurationNeeded\",\"advisoryIDs\":[\"INTEL-SA-00001\"]}")(module[at..]);
        });
        Assert.Empty(failures);
        Assert.Equal(TcbStatus.SWHardeningNeeded, result.Module!.Status);
        Assert.Equal(TcbStatus.ConfigurationNeeded, result.Platform!.Status);
        Assert.Equal(TcbStatus.UpToDate, result.Qe!.Status);
        Assert.Equal(TcbStatus.ConfigurationNeeded, result.Status);
        Assert.Equal(["INTEL-SA-00001", "INTEL-SA-00999"], result.AdvisoryIds);
    }

    [Fact]
    public void A_platform_level_below_the_first_is_graded_by_that_level()
    {
        // Raise the first platform level's PCE SVN above the PCK's (11): the platform then matches the second, OutOfDate level.
        var (result, failures) = Grade(tcb: Replace("\"pcesvn\":11", "\"pcesvn\":12"));
        Assert.Empty(failures);
        Assert.Equal(TcbStatus.OutOfDate, result.Platform!.Status);
        Assert.Equal(TcbStatus.OutOfDate, result.Status);
        Assert.Contains("INTEL-SA-00837", result.AdvisoryIds);
        Assert.Equal(14, result.AdvisoryIds.Count);
    }

    [Fact]
    public void A_revoked_qe_fails_the_quote()
    {
        var (result, failures) = Grade(qe: Replace("\"tcbStatus\":\"UpToDate\"", "\"tcbStatus\":\"Revoked\""));
        Assert.Equal(TcbStatus.Revoked, result.Status);
        Assert.Equal("tcb.status", Assert.Single(failures).Check);
    }

    [Fact]
    public void A_module_svn_below_every_module_level_has_no_matching_level()
    {
        var (_, failures) = Grade(tcb: t => t.Replace("\"isvsvn\":4}", "\"isvsvn\":7}", StringComparison.Ordinal).Replace("\"isvsvn\":2}", "\"isvsvn\":7}", StringComparison.Ordinal));
        Assert.Equal("tcb.tdx_module", Assert.Single(failures).Check);
    }

    [Fact]
    public void The_module_identity_is_found_by_its_id_ignoring_case_and_a_missing_one_is_named()
    {
        var (lower, lowerFailures) = Grade(tcb: Replace("\"id\":\"TDX_01\"", "\"id\":\"tdx_01\""));
        Assert.Empty(lowerFailures);
        Assert.Equal(TcbStatus.UpToDate, lower.Module!.Status);

        var (_, failures) = Grade(tcb: Replace("\"id\":\"TDX_01\"", "\"id\":\"TDX_11\""));
        var f = Assert.Single(failures);
        Assert.Equal("tdx_module.identity", f.Check);
        Assert.Contains("TDX_01", f.Expected, StringComparison.Ordinal);
    }

    [Fact]
    public void An_advisory_named_by_two_parts_is_listed_once()
    {
        var (result, failures) = Grade(
            tcb: Replace(
                "{\"tcb\":{\"isvsvn\":4},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"UpToDate\"}",
                "{\"tcb\":{\"isvsvn\":4},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"SWHardeningNeeded\",\"advisoryIDs\":[\"INTEL-SA-00999\",\"INTEL-SA-00002\"]}"),
            qe: Replace("\"tcbStatus\":\"UpToDate\"", "\"tcbStatus\":\"SWHardeningNeeded\",\"advisoryIDs\":[\"INTEL-SA-00999\"]"));
        Assert.Empty(failures);
        Assert.Equal(["INTEL-SA-00002", "INTEL-SA-00999"], result.AdvisoryIds);
    }
}
