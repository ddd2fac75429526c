using System.Text.Json;
using Veil.Tests.Shared;

namespace Veil.Cli.Tests;

/// <summary>
/// What a new user tripped over in <c>veil verify</c> output: a failed verification's claims looked like verified ones,
/// missing collateral did not say which option supplies it, and a replayed event log printed as one 6 KB line.
/// </summary>
public sealed class FailedVerificationOutputTests : IDisposable
{
    private static readonly string Ms = Vectors.Path("TEE-Attestation-Verification", "tests-test_data");
    private static readonly string GoTdx = Vectors.Path("go-tdx-guest", "testing-testdata");
    private static readonly string History = Vectors.Path("nvtrust", "history-2023-initial-samples");
    private readonly string temp = Directory.CreateTempSubdirectory("veil-cli-failed-").FullName;

    public void Dispose() => Directory.Delete(temp, recursive: true);

    private static string[] GenoaWithoutVcek(params string[] extra) =>
        ["verify", "snp", "--report", Path.Combine(Ms, "genoa_attestation_report.bin"), "--at", "2026-03-01T00:00:00Z", .. extra];

    [Fact]
    public void A_failed_verification_marks_every_claim_line_unverified_in_text()
    {
        var (exit, stdout, _) = CliRunner.Run(GenoaWithoutVcek());
        Assert.Equal(1, exit);
        var lines = stdout.TrimEnd().Split('\n');
        Assert.Equal("snp: NOT VERIFIED", lines[0]);
        Assert.StartsWith("  failed collateral.vcek: ", lines[1], StringComparison.Ordinal);
        var claimLines = lines.Where(l => l.Contains("snp.", StringComparison.Ordinal) && !l.StartsWith("  failed", StringComparison.Ordinal) && !l.StartsWith("    ", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(claimLines);
        Assert.All(claimLines, l => Assert.StartsWith("  unverified snp.", l, StringComparison.Ordinal));
        Assert.Contains("  the evidence states the following, UNVERIFIED (do not rely on it):", lines);
        Assert.Contains(lines, l => l.StartsWith("  unverified snp.measurement ", StringComparison.Ordinal));

        // A verified report prints the same claims unmarked.
        var (ok, verified, _) = CliRunner.Run(GenoaWithoutVcek("--vcek", Path.Combine(Ms, "genoa_vcek.pem")));
        Assert.Equal(0, ok);
        Assert.DoesNotContain("unverified", verified, StringComparison.OrdinalIgnoreCase);
        Assert.Matches(@"(?m)^  snp\.measurement +5feee30d", verified);
    }

    [Fact]
    public void A_failed_verification_has_no_claims_in_json_only_unverified_claims_beside_the_failures()
    {
        var (exit, stdout, _) = CliRunner.Run(GenoaWithoutVcek("--output", "json"));
        Assert.Equal(1, exit);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        Assert.False(root.GetProperty("verified").GetBoolean());
        Assert.False(root.TryGetProperty("claims", out _));
        Assert.Equal("Genoa", root.GetProperty("unverified_claims").GetProperty("snp.product").GetString());
        Assert.Equal("collateral.vcek", root.GetProperty("failures")[0].GetProperty("check").GetString());
    }

    [Fact]
    public void Missing_snp_collateral_names_the_options_that_supply_it_in_text_and_json()
    {
        var (_, text, _) = CliRunner.Run(GenoaWithoutVcek());
        Assert.Contains("    to supply it: --vcek FILE", text, StringComparison.Ordinal);
        foreach (var option in new[] { "--vcek", "--cert-table", "--collateral-dir", "--kds-url" })
        {
            Assert.Contains(option, text, StringComparison.Ordinal);
        }

        var (_, json, _) = CliRunner.Run(GenoaWithoutVcek("--output", "json"));
        using var doc = JsonDocument.Parse(json);
        Assert.Contains("--kds-url https://kdsintf.amd.com", doc.RootElement.GetProperty("failures")[0].GetProperty("hint").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Appraise_explains_missing_snp_collateral_with_its_own_options()
    {
        var (exit, table, _) = CliRunner.Run("appraise", "--policy", "sample", "--snp", "--report", Path.Combine(Ms, "genoa_attestation_report.bin"));
        Assert.Equal(1, exit);
        Assert.Contains("none supplied or found (to supply it: --vcek FILE", table, StringComparison.Ordinal);
        Assert.Contains("--collateral-dir DIR", table, StringComparison.Ordinal);
        // appraise reads collateral through the same flags as 'verify snp', so the hint may name --kds-url there too.
        Assert.Contains("--kds-url https", table, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_tdx_collateral_names_the_options_that_supply_it_and_no_collateral()
    {
        var (exit, text, _) = CliRunner.Run("verify", "tdx", "--quote", Path.Combine(GoTdx, "tdx_prod_quote_SPR_E4.dat"), "--at", "2023-07-01T01:00:00Z");
        Assert.Equal(1, exit);
        var hint = Assert.Single(text.Split('\n'), l => l.StartsWith("    to supply it: ", StringComparison.Ordinal));
        foreach (var option in new[] { "--collateral FILE.json", "--collateral-dir", "--pcs-url", "--no-collateral" })
        {
            Assert.Contains(option, hint, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_gpu_report_without_its_certificate_chain_names_cert_chain()
    {
        var (exit, text, _) = CliRunner.Run("verify", "gpu", "--evidence", Path.Combine(History, "attestationReport.txt"), "--at", "2024-06-01T00:00:00Z");
        Assert.Equal(1, exit);
        Assert.Contains("failed device_chain: ", text, StringComparison.Ordinal);
        Assert.Contains("    to supply it: --cert-chain FILE", text, StringComparison.Ordinal);
        Assert.Contains("  unverified nvidia.", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_replayed_event_log_prints_a_count_then_one_event_per_line()
    {
        var ccel = Path.Combine(GoTdx, "ccel");
        var (exit, stdout, _) = CliRunner.Run("verify", "tdx", "--quote", Path.Combine(ccel, "cos-113-tdx-quote.dat"), "--no-collateral",
            "--event-log", Path.Combine(ccel, "ccel_data.dat"), "--at", "2025-01-01T00:00:00Z");
        Assert.Equal(0, exit);
        var lines = stdout.Split('\n');
        var count = int.Parse(Assert.Single(lines, l => l.StartsWith("  tdx.event_log.count ", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
        var header = Array.FindIndex(lines, l => l.StartsWith("  tdx.event_log.events ", StringComparison.Ordinal));
        Assert.EndsWith($" {count} items:", lines[header], StringComparison.Ordinal);
        var events = lines.Skip(header + 1).Take(count).ToList();
        Assert.All(events, e => Assert.Matches(@"^      rtmr[0-3] EV_[A-Z0-9_]+ [0-9a-f]{96}", e));
        Assert.StartsWith("  tdx.", lines[header + 1 + count], StringComparison.Ordinal);
        Assert.All(lines, l => Assert.True(l.Length < 400, $"{l.Length} characters: {l[..Math.Min(80, l.Length)]}…"));

        // Short lists stay on their line.
        var (_, text, _) = CliRunner.Run("verify", "tdx", "--quote", Path.Combine(Vectors.Path("dcap-qvl", "sample"), "tdx_quote"),
            "--collateral", Path.Combine(Vectors.Path("dcap-qvl", "sample"), "tdx_quote_collateral.json"), "--at", "2025-07-19T10:00:34Z");
        Assert.Matches(@"(?m)^  tdx\.advisory_ids +\[\]$", text);
    }

    [Theory]
    [InlineData("snp", "--report", "not a report: 12 bytes of text, neither hex nor base64")]
    [InlineData("tdx", "--quote", "not a quote: 12 bytes of text, neither hex nor base64")]
    [InlineData("gpu", "--evidence", "not GPU evidence: 12 bytes of text, neither hex nor base64")]
    public void A_text_file_given_as_evidence_says_it_is_not_evidence(string tee, string option, string reason)
    {
        var path = Path.Combine(temp, "notes.txt");
        File.WriteAllText(path, "hello world\n");
        var (exit, stdout, stderr) = CliRunner.Run("verify", tee, option, path);
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Contains(reason, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("truncated", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Appraising_a_failed_verify_output_is_contraindicated_even_under_a_policy_pinned_to_those_claims()
    {
        var verified = Path.Combine(temp, "verified.json");
        var failed = Path.Combine(temp, "failed.json");
        File.WriteAllText(verified, CliRunner.Run(GenoaWithoutVcek("--vcek", Path.Combine(Ms, "genoa_vcek.pem"), "--cert-chain", Path.Combine(Ms, "genoa_ask.pem"), "--output", "json")).Out);
        File.WriteAllText(failed, CliRunner.Run(GenoaWithoutVcek("--output", "json")).Out);
        var (iexit, policyText, ierr) = CliRunner.Run("policy", "init", "--claims", verified, "--name", "genoa-pinned");
        Assert.True(iexit == 0, ierr);
        var policy = Path.Combine(temp, "pinned.yaml");
        File.WriteAllText(policy, policyText);

        var (ok, okOut, okErr) = CliRunner.Run("appraise", "--policy", policy, "--claims", verified, "--at", "2026-03-01T00:00:00Z");
        Assert.True(ok == 0, okOut + okErr);
        var (exit, json, err) = CliRunner.Run("appraise", "--policy", policy, "--claims", failed, "--at", "2026-03-01T00:00:00Z", "--output", "json");
        Assert.True(exit == 1, json + err);
        using var doc = JsonDocument.Parse(json);
        Assert.Equal("contraindicated", doc.RootElement.GetProperty("ear.status").GetString());

        // Nor can a policy be pinned to what failed to verify.
        var (pinExit, _, pinErr) = CliRunner.Run("policy", "init", "--claims", failed);
        Assert.Equal(2, pinExit);
        Assert.Contains("unverified claims of a failed verification (snp: collateral.vcek)", pinErr, StringComparison.Ordinal);
    }
}
