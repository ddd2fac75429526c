using System.Text.Json;
using Veil.Tests.Shared;

namespace Veil.Cli.Tests;

/// <summary><c>veil verify az-snp-vtpm|az-tdx-vtpm</c> as a user runs them on Trustee's Azure vectors: exit codes, JSON, named errors.</summary>
public sealed class VerifyAzureVtpmCliTests : IDisposable
{
    private const string V2ReportData = "982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef";
    private static readonly string Snp = Vectors.Path("trustee", "deps", "verifier", "test_data", "az-snp-vtpm");
    private static readonly string Tdx = Vectors.Path("trustee", "deps", "verifier", "test_data", "az-tdx-vtpm");
    private readonly string temp = Directory.CreateTempSubdirectory("veil-cli-az-").FullName;

    public void Dispose() => Directory.Delete(temp, recursive: true);

    [Fact]
    public void Snp_v2_evidence_verifies_with_its_report_data_and_prints_az_tpm_and_snp_claims()
    {
        var (exit, stdout, stderr) = CliRunner.Run("verify", "az-snp-vtpm", "--evidence", Path.Combine(Snp, "evidence-v2.json"),
            "--report-data", V2ReportData, "--at", "2026-03-01T00:00:00Z", "--output", "json");
        Assert.True(exit == 0, stdout + stderr);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal("az-snp-vtpm", doc.RootElement.GetProperty("tee").GetString());
        var claims = doc.RootElement.GetProperty("claims");
        Assert.Equal(V2ReportData, claims.GetProperty("az.report_data").GetString());
        Assert.Equal("84275b2f4312cd4fc6cbe6b152ad3c3683e513d9f1e23c34fca160c8cca7a6a7", claims.GetProperty("tpm.pcr00").GetString());
        Assert.Equal("Milan", claims.GetProperty("snp.product").GetString());
    }

    [Fact]
    public void A_wrong_nonce_is_exit_1_naming_the_check()
    {
        var (exit, stdout, _) = CliRunner.Run("verify", "az-snp-vtpm", "--evidence", Path.Combine(Snp, "evidence-v1.json"),
            "--report-data", "6368616c6c656e6766", "--at", "2026-03-01T00:00:00Z");
        Assert.Equal(1, exit);
        Assert.Contains("az-snp-vtpm: NOT VERIFIED", stdout, StringComparison.Ordinal);
        Assert.Contains("failed tpm_quote.report_data: expected 6368616c6c656e6766, actual 6368616c6c656e6765", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Init_data_that_pcr8_does_not_hold_is_exit_1_and_a_sha384_document_is_bad_usage()
    {
        File.WriteAllText(Path.Combine(temp, "a.toml"), "version = \"0.1.0\"\nalgorithm = \"sha256\"\n[data]\nx = \"1\"\n");
        var (exit, stdout, _) = CliRunner.Run("verify", "az-snp-vtpm", "--evidence", Path.Combine(Snp, "evidence-v1.json"),
            "--report-data", "6368616c6c656e6765", "--init-data", Path.Combine(temp, "a.toml"), "--at", "2026-03-01T00:00:00Z");
        Assert.Equal(1, exit);
        Assert.Contains("failed init_data.pcr08", stdout, StringComparison.Ordinal);

        File.WriteAllText(Path.Combine(temp, "b.toml"), "version = \"0.1.0\"\nalgorithm = \"sha384\"\n");
        var (exit2, _, stderr) = CliRunner.Run("verify", "az-snp-vtpm", "--evidence", Path.Combine(Snp, "evidence-v1.json"), "--init-data", Path.Combine(temp, "b.toml"));
        Assert.Equal(2, exit2);
        Assert.Contains("--init-data: algorithm 'sha384'", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Tdx_evidence_verifies_with_no_collateral_and_names_the_missing_collateral_otherwise()
    {
        string[] args = ["verify", "az-tdx-vtpm", "--evidence", Path.Combine(Tdx, "evidence-v1.json"), "--report-data", "6368616c6c656e6765", "--at", "2026-03-01T00:00:00Z"];
        var (exit, stdout, stderr) = CliRunner.Run([.. args, "--no-collateral"]);
        Assert.True(exit == 0, stdout + stderr);
        Assert.StartsWith("az-tdx-vtpm: VERIFIED", stdout, StringComparison.Ordinal);

        var (exit2, stdout2, _) = CliRunner.Run(args);
        Assert.Equal(1, exit2);
        Assert.Contains("failed tdx.collateral", stdout2, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_evidence_and_oversized_report_data_are_exit_2_with_the_field()
    {
        var bytes = File.ReadAllBytes(Path.Combine(Snp, "evidence-v1.json"));
        var cut = Path.Combine(temp, "cut.json");
        File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);
        var (exit, _, stderr) = CliRunner.Run("verify", "az-snp-vtpm", "--evidence", cut);
        Assert.Equal(2, exit);
        Assert.StartsWith("veil: invalid input: az-snp-vtpm evidence: not valid JSON", stderr, StringComparison.Ordinal);

        var (exit2, _, stderr2) = CliRunner.Run("verify", "az-snp-vtpm", "--evidence", Path.Combine(Snp, "evidence-v1.json"), "--report-data", new string('a', 130));
        Assert.Equal(2, exit2);
        Assert.Contains("--report-data: 65 bytes", stderr2, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr + stderr2, StringComparison.Ordinal);
    }
}
