using System.Text.Json;
using Veil.Tests.Shared;

namespace Veil.Cli.Tests;

/// <summary><c>veil verify snp</c> as a user runs it: exit codes, JSON shape, named errors, no stack traces.</summary>
public sealed class VerifySnpCliTests : IDisposable
{
    private static readonly string Ms = Vectors.Path("TEE-Attestation-Verification", "tests-test_data");
    private readonly string temp = Directory.CreateTempSubdirectory("veil-cli-").FullName;

    public void Dispose() => Directory.Delete(temp, recursive: true);

    private static string[] Args(string gen, params string[] extra) =>
    [
        "verify", "snp", "--report", Path.Combine(Ms, $"{gen}_attestation_report.bin"),
        "--vcek", Path.Combine(Ms, $"{gen}_vcek.pem"), "--cert-chain", Path.Combine(Ms, $"{gen}_ask.pem"),
        "--at", "2026-03-01T00:00:00Z", .. extra,
    ];

    [Fact]
    public void Verified_report_exits_0_with_the_documented_json_shape()
    {
        var (exit, stdout, stderr) = CliRunner.Run(Args("turin", "--output", "json"));
        Assert.Equal(0, exit);
        Assert.Equal("", stderr);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        Assert.True(root.GetProperty("verified").GetBoolean());
        Assert.Equal("snp", root.GetProperty("tee").GetString());
        Assert.Equal(0, root.GetProperty("failures").GetArrayLength());
        var claims = root.GetProperty("claims");
        Assert.Equal("Turin", claims.GetProperty("snp.product").GetString());
        Assert.Equal("vcek", claims.GetProperty("snp.signer").GetString());
        Assert.Equal(1, claims.GetProperty("snp.reported_tcb.fmc").GetInt32());
        Assert.False(claims.GetProperty("snp.policy.debug").GetBoolean());
        Assert.Equal("6d6c354511d6f7c6d7504668903dc5bdc066a048b651840d8d03fb85299ebfa142fccf1d1b0baca496841bdf243619d4", claims.GetProperty("snp.measurement").GetString());
    }

    [Fact]
    public void Tampered_report_exits_1_naming_the_failed_check()
    {
        var report = File.ReadAllBytes(Path.Combine(Ms, "milan_attestation_report.bin"));
        report[100] ^= 0xFF;
        var path = Path.Combine(temp, "tampered.bin");
        File.WriteAllBytes(path, report);
        var args = Args("milan", "--output", "json");
        args[3] = path;
        var (exit, stdout, _) = CliRunner.Run(args);
        Assert.Equal(1, exit);
        using var doc = JsonDocument.Parse(stdout);
        Assert.False(doc.RootElement.GetProperty("verified").GetBoolean());
        Assert.Equal("report.signature", doc.RootElement.GetProperty("failures")[0].GetProperty("check").GetString());
    }

    [Fact]
    public void Report_data_mismatch_exits_1_with_expected_and_actual_in_text_output()
    {
        var (exit, stdout, _) = CliRunner.Run(Args("genoa", "--report-data", "0x" + new string('a', 128)));
        Assert.Equal(1, exit);
        Assert.Contains("NOT VERIFIED", stdout, StringComparison.Ordinal);
        Assert.Contains("report.report_data: expected " + new string('a', 128) + ", actual " + new string('0', 128), stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Trustee_json_evidence_verifies_without_separate_certificates()
    {
        var (exit, stdout, _) = CliRunner.Run("verify", "snp", "--report", Vectors.Path("trustee", "attestation-service", "tests", "e2e", "evidence.json"), "--at", "2025-06-01T00:00:00Z");
        Assert.Equal(0, exit);
        Assert.StartsWith("snp: VERIFIED", stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(1183)]
    [InlineData(5000)]
    public void Truncated_or_oversized_report_exits_2_with_a_named_reason(int length)
    {
        var path = Path.Combine(temp, "bad.bin");
        File.WriteAllBytes(path, File.ReadAllBytes(Path.Combine(Ms, "genoa_attestation_report.bin")).Concat(new byte[5000]).Take(length).ToArray());
        var args = Args("genoa");
        args[3] = path;
        var (exit, stdout, stderr) = CliRunner.Run(args);
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.StartsWith("veil: invalid input: report", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Random_bytes_never_crash_the_cli()
    {
        var random = new Random(7);
        var path = Path.Combine(temp, "random.bin");
        foreach (var length in new[] { 1, 64, 1184, 2368, 3000 })
        {
            var bytes = new byte[length];
            random.NextBytes(bytes);
            File.WriteAllBytes(path, bytes);
            var args = Args("genoa");
            args[3] = path;
            var (exit, _, stderr) = CliRunner.Run(args);
            Assert.True(exit is 1 or 2, $"exit {exit}: {stderr}");
            Assert.DoesNotContain("internal error", stderr, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("--report-data", "abc", "odd number")]
    [InlineData("--report-data", "00", "64 bytes")]
    [InlineData("--at", "yesterday", "ISO-8601")]
    public void Bad_option_values_exit_2_naming_the_option(string option, string value, string reason)
    {
        var args = Args("genoa").ToList();
        args.RemoveRange(args.IndexOf("--at"), 2);
        var (exit, _, stderr) = CliRunner.Run([.. args, option, value]);
        Assert.Equal(2, exit);
        Assert.Contains(option, stderr, StringComparison.Ordinal);
        Assert.Contains(reason, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_files_and_bad_certificates_exit_2()
    {
        Assert.Equal(2, CliRunner.Run("verify", "snp", "--report", Path.Combine(temp, "nope.bin")).Exit);
        var notCert = Path.Combine(temp, "cert.pem");
        File.WriteAllText(notCert, "hello");
        var (exit, _, stderr) = CliRunner.Run(Args("genoa", "--vcek", notCert));
        Assert.Equal(2, exit);
        Assert.Contains("--vcek", stderr, StringComparison.Ordinal);
        Assert.Equal(2, CliRunner.Run("verify", "snp").Exit);
    }
}
