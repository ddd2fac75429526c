using System.Text.Json;
using Veil.Tests.Shared;

namespace Veil.Cli.Tests;

/// <summary><c>veil verify gpu</c> as a user runs it: exit codes, JSON shape, named failures, no stack traces.</summary>
public sealed class VerifyGpuCliTests : IDisposable
{
    private const string Nonce = "4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e";
    private static readonly string History = Vectors.Path("nvtrust", "history-2023-initial-samples");
    private static readonly string Samples = Vectors.Path("nvtrust", "local_gpu_verifier-samples");
    private readonly string temp = Directory.CreateTempSubdirectory("veil-cli-gpu-").FullName;

    public void Dispose() => Directory.Delete(temp, recursive: true);

    private static string[] Args(params string[] extra) =>
    [
        "verify", "gpu", "--evidence", Path.Combine(History, "attestationReport.txt"),
        "--cert-chain", Path.Combine(History, "gpuAkCertChain.txt"), "--nonce", Nonce,
        "--rim", Path.Combine(Samples, "Driver_RIM_test_no_gpu.swidtag"),
        "--rim", Path.Combine(Samples, "1010_0200_882_96005E0001_test_no_gpu.swidtag"), .. extra,
    ];

    [Fact]
    public void End_to_end_vector_with_rims_exits_0_with_the_documented_json_shape()
    {
        var (exit, stdout, stderr) = CliRunner.Run(Args("--at", "2024-06-01T00:00:00Z", "--output", "json"));
        Assert.Equal(0, exit);
        Assert.Equal("", stderr);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        Assert.True(root.GetProperty("verified").GetBoolean());
        Assert.Equal("nvidia", root.GetProperty("tee").GetString());
        Assert.Equal(0, root.GetProperty("failures").GetArrayLength());
        var claims = root.GetProperty("claims");
        Assert.Equal("HOPPER", claims.GetProperty("nvidia.arch").GetString());
        Assert.Equal("545.00", claims.GetProperty("nvidia.driver_version").GetString());
        Assert.Equal("96.00.5E.00.01", claims.GetProperty("nvidia.vbios_version").GetString());
        Assert.Equal(Nonce, claims.GetProperty("nvidia.nonce").GetString());
        Assert.True(claims.GetProperty("nvidia.cc_mode").GetBoolean());
        Assert.True(claims.GetProperty("nvidia.measurements_match").GetBoolean());
        Assert.Equal(0, claims.GetProperty("nvidia.mismatched_indices").GetArrayLength());
        Assert.False(string.IsNullOrEmpty(claims.GetProperty("nvidia.device_id").GetString()));
        Assert.False(claims.GetProperty("nvidia.ppcie_mode").GetBoolean());
    }

    [Fact]
    public void Rims_at_todays_date_exit_1_saying_the_rim_signing_certificate_expired()
    {
        var (exit, stdout, _) = CliRunner.Run(Args("--at", "2026-11-21T00:00:00Z"));
        Assert.Equal(1, exit);
        Assert.StartsWith("nvidia: NOT VERIFIED", stdout, StringComparison.Ordinal);
        // The state, the bound crossed, then the verification time: not "expired at <now>".
        Assert.Contains("failed rim.driver.chain[0].validity: expected valid at the verification time, actual RIM signing certificate 'HCC RIM L4 Signer' expired: valid until 2025-06-26T06:10:12Z, now 2026-11-21T00:00:00Z", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Wrong_nonce_exits_1_naming_expected_and_actual()
    {
        var args = Args("--at", "2024-06-01T00:00:00Z", "--output", "json");
        args[Array.IndexOf(args, "--nonce") + 1] = new string('0', 64);
        var (exit, stdout, _) = CliRunner.Run(args);
        Assert.Equal(1, exit);
        using var doc = JsonDocument.Parse(stdout);
        var f = doc.RootElement.GetProperty("failures")[0];
        Assert.Equal("report.nonce", f.GetProperty("check").GetString());
        Assert.Equal(Nonce, f.GetProperty("actual").GetString());
    }

    [Fact]
    public void Eight_gpu_evidence_list_verifies_as_one_set_with_per_device_claims()
    {
        var (exit, stdout, stderr) = CliRunner.Run("verify", "gpu", "--evidence", Vectors.Path("nvtrust", "ppcie-tests-data", "gpu_evidence.json"), "--output", "json");
        Assert.True(exit == 0, stderr + stdout);
        using var doc = JsonDocument.Parse(stdout);
        var claims = doc.RootElement.GetProperty("claims");
        Assert.Equal(8, claims.GetProperty("nvidia.set.gpu_count").GetInt32());
        Assert.True(claims.GetProperty("nvidia.set.ppcie_mode").GetBoolean());
        Assert.Equal("HOPPER", claims.GetProperty("gpu7.nvidia.arch").GetString());
    }

    [Fact]
    public void Collateral_dir_supplies_the_rims_by_id()
    {
        Directory.CreateDirectory(Path.Combine(temp, "rims"));
        File.Copy(Path.Combine(Samples, "Driver_RIM_test_no_gpu.swidtag"), Path.Combine(temp, "rims", "NV_GPU_DRIVER_GH100_545.00.xml"));
        File.Copy(Path.Combine(Samples, "1010_0200_882_96005E0001_test_no_gpu.swidtag"), Path.Combine(temp, "rims", "NV_GPU_VBIOS_1010_0200_882_96005E0001.xml"));
        var (exit, stdout, _) = CliRunner.Run("verify", "gpu", "--evidence", Path.Combine(History, "attestationReport.txt"),
            "--cert-chain", Path.Combine(History, "gpuAkCertChain.txt"), "--nonce", Nonce, "--collateral-dir", temp, "--at", "2024-06-01T00:00:00Z");
        Assert.Equal(0, exit);
        Assert.Contains("nvidia.measurements_match", stdout, StringComparison.Ordinal);
        Assert.StartsWith("nvidia: VERIFIED", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Corim_rims_are_told_from_swid_by_content_and_checked_against_the_pinned_nvidia_root()
    {
        // Re-signed by a test key (no NVIDIA-signed GPU CoRIM is at hand): the measurements match the report,
        // the chain must stop at the pinned root.
        using var pki = new Veil.Attestation.Tests.Nvidia.TestPki();
        var paths = new List<string>();
        foreach (var swid in new[] { "Driver_RIM_test_no_gpu.swidtag", "1010_0200_882_96005E0001_test_no_gpu.swidtag" })
        {
            var rim = Veil.Attestation.Nvidia.Rim.RimDocument.Parse(File.ReadAllBytes(Path.Combine(Samples, swid)), swid);
            var path = Path.Combine(temp, swid + ".xml"); // a misleading extension: the content decides
            File.WriteAllBytes(path, Veil.Attestation.Tests.Nvidia.CorimBuilder.SignedFromSwid(rim, pki));
            paths.Add(path);
        }

        var (exit, stdout, stderr) = CliRunner.Run("verify", "gpu", "--evidence", Path.Combine(History, "attestationReport.txt"),
            "--cert-chain", Path.Combine(History, "gpuAkCertChain.txt"), "--nonce", Nonce, "--rim", paths[0], "--rim", paths[1],
            "--at", "2024-06-01T00:00:00Z", "--output", "json");
        Assert.Equal(1, exit);
        Assert.Equal("", stderr);
        using var doc = JsonDocument.Parse(stdout);
        var checks = doc.RootElement.GetProperty("failures").EnumerateArray().Select(f => f.GetProperty("check").GetString()).ToList();
        Assert.Equal(["rim.driver.chain.root", "rim.vbios.chain.root"], checks);
        Assert.False(doc.RootElement.TryGetProperty("claims", out _));
        Assert.Equal(0, doc.RootElement.GetProperty("unverified_claims").GetProperty("nvidia.mismatched_indices").GetArrayLength());
    }

    [Fact]
    public void A_truncated_corim_is_a_named_schema_failure_without_a_stack_trace()
    {
        var path = Path.Combine(temp, "bad.corim");
        File.WriteAllBytes(path, Convert.FromHexString("d901f5a1006178"));
        var (exit, stdout, stderr) = CliRunner.Run(Args("--rim", path, "--at", "2024-06-01T00:00:00Z"));
        Assert.Equal(1, exit);
        Assert.Contains("failed rim.driver.schema: expected a well-formed NVIDIA RIM (SWID tag or CoRIM), actual " + path + ".corim-map.tags: missing", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    [InlineData(2000)]
    public void Truncated_evidence_exits_2_with_a_named_reason(int length)
    {
        var path = Path.Combine(temp, "bad.txt");
        File.WriteAllText(path, File.ReadAllText(Path.Combine(History, "attestationReport.txt"))[..length]);
        var args = Args();
        args[3] = path;
        var (exit, stdout, stderr) = CliRunner.Run(args);
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.StartsWith("veil: invalid input: ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd().Split('\n'));
    }

    [Fact]
    public void Random_bytes_never_crash_the_cli()
    {
        var random = new Random(11);
        var path = Path.Combine(temp, "random.bin");
        foreach (var length in new[] { 1, 37, 200, 4049, 9000 })
        {
            var bytes = new byte[length];
            random.NextBytes(bytes);
            bytes[0] = 0x11; // looks like an SPDM request, so the binary parser is the one that must cope
            if (length > 1)
            {
                bytes[1] = 0xE0;
            }
            File.WriteAllBytes(path, bytes);
            var args = Args();
            args[3] = path;
            var (exit, _, stderr) = CliRunner.Run(args);
            Assert.True(exit is 1 or 2, $"exit {exit}: {stderr}");
            Assert.DoesNotContain("internal error", stderr, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("--nonce", "abc", "odd number")]
    [InlineData("--nonce", "00", "32 bytes")]
    [InlineData("--at", "yesterday", "ISO-8601")]
    [InlineData("--rim-service", "ftp://x", "http(s) URL")]
    [InlineData("--ocsp-responder", "http://127.0.0.1:9/", "needs --rim-service")]
    [InlineData("--collateral-dir", "/nonexistent/veil", "directory not found")]
    public void Bad_option_values_exit_2_naming_the_option(string option, string value, string reason)
    {
        var args = Args().ToList();
        if (option == "--nonce")
        {
            args.RemoveRange(args.IndexOf("--nonce"), 2);
        }

        var (exit, _, stderr) = CliRunner.Run([.. args, option, value]);
        Assert.Equal(2, exit);
        Assert.Contains(option, stderr, StringComparison.Ordinal);
        Assert.Contains(reason, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_files_and_a_non_rim_exit_2()
    {
        Assert.Equal(2, CliRunner.Run("verify", "gpu", "--evidence", Path.Combine(temp, "nope.txt")).Exit);
        Assert.Equal(2, CliRunner.Run("verify", "gpu").Exit);
        var (exit, _, stderr) = CliRunner.Run(Args("--rim", Path.Combine(temp, "missing.xml")));
        Assert.Equal(2, exit);
        Assert.Contains("--rim", stderr, StringComparison.Ordinal);
    }
}
