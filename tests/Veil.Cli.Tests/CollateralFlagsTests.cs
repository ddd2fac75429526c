using System.Text.RegularExpressions;
using Veil.Tests.Shared;

namespace Veil.Cli.Tests;

/// <summary>
/// The collateral flags are one set read by one piece of code: every flag of 'verify snp|tdx|gpu' exists on 'appraise',
/// and a flag that reaches a vendor service (--kds-url) works on both verbs against a real HTTP server on loopback.
/// </summary>
public sealed partial class CollateralFlagsTests
{
    private static readonly string Ms = Vectors.Path("TEE-Attestation-Verification", "tests-test_data");

    private const string GenoaVcekPath = "/vcek/v1/Genoa/b1e24a27bbc3a4d58090d8b89851dce3b8031544be249b9ac17132bb222b027622347ee4d0fe4f689efdfc47a68cefc686cbb448d01436506ee1e28010cab7c0?blSPL=10&teeSPL=00&snpSPL=23&ucodeSPL=84";

    private static readonly string[] Own = ["--report", "--quote", "--evidence", "--report-data", "--nonce", "--at", "--output", "--init-data", "--init-data-digest", "--help", "-h", "-?"];

    [Theory]
    [InlineData("snp")]
    [InlineData("tdx")]
    [InlineData("gpu")]
    public void Every_collateral_flag_of_verify_is_a_flag_of_appraise(string tee)
    {
        var verify = Flags("verify", tee, "--help");
        var appraise = Flags("appraise", "--help");
        var collateral = verify.Except(Own).ToList();
        Assert.NotEmpty(collateral);
        Assert.All(collateral, f => Assert.Contains(f, appraise));
    }

    [Theory]
    [InlineData("az-snp-vtpm", "--kds-url")]
    [InlineData("az-tdx-vtpm", "--pcs-url")]
    [InlineData("az-tdx-vtpm", "--no-collateral")]
    public void The_azure_verbs_take_the_collateral_flags_of_their_tee(string verb, string flag) =>
        Assert.Contains(flag, Flags("verify", verb, "--help"));

    [Theory]
    [InlineData("verify", "snp")]
    [InlineData("appraise", "--policy", "sample", "--snp")]
    public async Task Kds_url_fetches_the_vcek_from_a_kds_on_loopback_for_verify_and_appraise(params string[] verb)
    {
        // The Genoa report's KDS paths, as SnpCollateralSourceTests pins them.
        using var kds = new LoopbackHttpServer();
        kds.Add(GenoaVcekPath, File.ReadAllBytes(Path.Combine(Ms, "genoa_vcek.pem")));
        kds.Add("/vcek/v1/Genoa/cert_chain", File.ReadAllBytes(Path.Combine(Ms, "genoa_ask.pem")));
        var cache = Directory.CreateTempSubdirectory("veil-kds-cache").FullName;
        try
        {
            var (exit, stdout, _) = await Task.Run(() => CliRunner.Run(
                [.. verb, "--report", Path.Combine(Ms, "genoa_attestation_report.bin"), "--kds-url", kds.BaseUri.ToString(), "--collateral-dir", cache, "--at", "2026-03-01T00:00:00Z"]));
            Assert.Contains(GenoaVcekPath, kds.Requests);
            Assert.DoesNotContain("collateral.vcek", stdout, StringComparison.Ordinal);
            Assert.NotEmpty(Directory.EnumerateFiles(cache, "*", SearchOption.AllDirectories));
            if (verb[0] == "verify")
            {
                Assert.Equal(0, exit);
            }
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    private static List<string> Flags(params string[] args)
    {
        var (exit, stdout, _) = CliRunner.Run(args);
        Assert.Equal(0, exit);
        return [.. FlagPattern().Matches(stdout).Select(m => m.Groups[1].Value)];
    }

    [GeneratedRegex(@"^\s+(--[a-z0-9-]+)", RegexOptions.Multiline)]
    private static partial Regex FlagPattern();
}
