using System.Text.Json;
using Veil.Tests.Shared;

namespace Veil.Cli.Tests;

public class PolicyCommandTests
{
    private static readonly string[] StrictParams =
        ["--param", "snp_min_bootloader=0", "--param", "snp_min_tee=0", "--param", "snp_min_snp=0", "--param", "snp_min_microcode=0"];

    private static string[] GoSevGuest() =>
    [
        "--snp",
        "--report", Vectors.Path("go-sev-guest", "verify-testdata", "attestation.bin"),
        "--vcek", Vectors.Path("go-sev-guest", "verify-testdata", "vcek.testcer"),
        "--cert-chain", Vectors.Path("go-sev-guest", "verify-testdata", "milan.testcer"),
        "--at", "2022-09-24T01:00:00Z",
    ];

    [Fact]
    public void Check_accepts_strict_with_parameters_and_names_the_missing_one()
    {
        var (exit, output, err) = CliRunner.Run(["policy", "check", "--policy", "strict", .. StrictParams]);
        Assert.True(exit == 0, err);
        Assert.Contains("ok, policy veil:strict", output);

        var (exit2, _, err2) = CliRunner.Run("policy", "check", "--policy", "strict");
        Assert.Equal(2, exit2);
        Assert.Contains("strict.yaml:", err2);
        Assert.Contains("snp_min_bootloader", err2);
    }

    [Fact]
    public void Check_reports_file_and_line_of_a_wrong_policy()
    {
        var path = Path.Combine(Path.GetTempPath(), $"veil-bad-{Guid.NewGuid():N}.yaml");
        try
        {
            File.WriteAllText(path, "apiVersion: veil.dev/v1\nkind: AttestationPolicy\nsubmodules:\n  cpu:\n    rules:\n      - name: r\n        claim: snp.policy.debugg\n        equals: false\n        trust: configuration\n");
            var (exit, _, err) = CliRunner.Run("policy", "check", "--policy", path);
            Assert.Equal(2, exit);
            Assert.Contains($"{path}:7: unknown claim 'snp.policy.debugg'", err);
            Assert.DoesNotContain("   at ", err);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Appraise_snp_debug_report_under_strict_is_denied_with_the_explanation()
    {
        var (exit, output, err) = CliRunner.Run(["appraise", "--policy", "strict", .. StrictParams, .. GoSevGuest()]);
        Assert.True(exit == 1, err);
        Assert.Contains("CONTRAINDICATED", output);
        Assert.Contains("snp.policy.debug: expected false, actual true", output);
        Assert.Contains("configuration=96", output);

        var (exit2, json, _) = CliRunner.Run(["appraise", "--policy", "strict", .. StrictParams, .. GoSevGuest(), "--output", "json"]);
        Assert.Equal(1, exit2);
        using var doc = JsonDocument.Parse(json);
        Assert.Equal("contraindicated", doc.RootElement.GetProperty("ear.status").GetString());
        Assert.Contains(doc.RootElement.GetProperty("veil.explanations").EnumerateArray(),
            e => e.GetProperty("claim").GetString() == "snp.policy.debug" && e.GetProperty("source").GetString()!.StartsWith("strict.yaml:", StringComparison.Ordinal));
    }

    [Fact]
    public void Init_from_claims_then_appraise_those_claims_is_affirming()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            var claims = Path.Combine(dir.FullName, "claims.json");
            var (vexit, verified, verr) = CliRunner.Run("verify", "snp", "--report", Vectors.Path("TEE-Attestation-Verification", "tests-test_data", "genoa_attestation_report.bin"),
                "--vcek", Vectors.Path("TEE-Attestation-Verification", "tests-test_data", "genoa_vcek.pem"),
                "--cert-chain", Vectors.Path("TEE-Attestation-Verification", "tests-test_data", "genoa_ask.pem"),
                "--at", "2026-03-01T00:00:00Z", "--output", "json");
            Assert.True(vexit == 0, verr);
            File.WriteAllText(claims, verified);

            var (iexit, policyText, ierr) = CliRunner.Run("policy", "init", "--claims", claims, "--name", "genoa-pinned");
            Assert.True(iexit == 0, ierr);
            var policy = Path.Combine(dir.FullName, "pinned.yaml");
            File.WriteAllText(policy, policyText);

            var (aexit, table, aerr) = CliRunner.Run("appraise", "--policy", policy, "--claims", claims, "--at", "2026-03-01T00:00:00Z");
            Assert.True(aexit == 0, aerr + table);
            Assert.Contains("AFFIRMING", table);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void Appraise_usage_errors_are_exit_2()
    {
        Assert.Equal(2, CliRunner.Run("appraise", "--policy", "strict").Exit);
        var (exit, _, err) = CliRunner.Run(["appraise", "--policy", "strict", .. StrictParams, "--claims", "/nonexistent/c.json"]);
        Assert.Equal(2, exit);
        Assert.Contains("--claims", err);
        Assert.Equal(2, CliRunner.Run(["appraise", "--policy", "strict", "--param", "novalue", "--claims", "x"]).Exit);
    }

    [Fact]
    public void Refvalue_from_measure_feeds_a_policy_that_affirms_then_expires()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            var measured = Path.Combine(dir.FullName, "m.json");
            var (mexit, mjson, merr) = CliRunner.Run("measure", "snp", "--ovmf", Vectors.Path("sev-snp-measure", "tests-fixtures", "ovmf_AmdSev_suffix.bin"),
                "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--output", "json");
            Assert.True(mexit == 0, merr);
            File.WriteAllText(measured, mjson);
            var rv = Path.Combine(dir.FullName, "rv.yaml");
            var (aexit, aout, aerr) = CliRunner.Run("refvalue", "add", "guest-images", "--file", rv, "--from-measure", measured, "--expires", "2030-01-01T00:00:00Z");
            Assert.True(aexit == 0, aerr);
            Assert.Contains("guest-images +=", aout);
            Assert.Equal(0, CliRunner.Run("refvalue", "add", "guest-images", "--file", rv, "--value", "ab", "--provenance", "by hand").Exit);

            var (lexit, list, _) = CliRunner.Run("refvalue", "list", "--file", rv, "--at", "2031-01-01T00:00:00Z");
            Assert.Equal(0, lexit);
            Assert.Contains("EXPIRED 2030-01-01T00:00:00Z", list);
            Assert.Contains("vcpu_type=EPYC-v4", list);
            Assert.Contains("by hand", list);

            using var m = JsonDocument.Parse(mjson);
            var measurement = m.RootElement.GetProperty("measurement").GetString()!;
            var policy = Path.Combine(dir.FullName, "p.yaml");
            File.WriteAllText(policy, "apiVersion: veil.dev/v1\nkind: AttestationPolicy\nsubmodules:\n  cpu:\n    rules:\n      - {name: image, claim: snp.measurement, inSet: guest-images, trust: executables}\n");
            var claims = Path.Combine(dir.FullName, "c.json");
            File.WriteAllText(claims, "{\"cpu\": {\"snp.measurement\": \"" + measurement + "\"}}");
            var (ok, okOut, okErr) = CliRunner.Run("appraise", "--policy", policy, "--reference-values", rv, "--claims", claims, "--at", "2029-01-01T00:00:00Z");
            Assert.True(ok == 0, okErr + okOut);
            var (late, lateOut, _) = CliRunner.Run("appraise", "--policy", policy, "--reference-values", rv, "--claims", claims, "--at", "2031-01-01T00:00:00Z");
            Assert.Equal(1, late);
            Assert.Contains("matches an expired value", lateOut);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void Refvalue_add_usage_errors()
    {
        Assert.Equal(2, CliRunner.Run("refvalue", "add", "s", "--file", "/tmp/never.yaml", "--value", "ab").Exit);
        Assert.Equal(2, CliRunner.Run("refvalue", "add", "bad name", "--file", "/tmp/never.yaml", "--value", "ab", "--provenance", "p").Exit);
        Assert.False(File.Exists("/tmp/never.yaml"));
    }

    [Fact]
    public void Appraise_tdx_quote_up_to_date_is_affirming_and_the_outdated_one_explains_its_verification_failure()
    {
        var (exit, output, err) = CliRunner.Run(["appraise", "--policy", "strict", .. StrictParams, "--tdx",
            "--quote", Vectors.Path("dcap-qvl", "sample", "tdx_quote"), "--collateral", Vectors.Path("dcap-qvl", "sample", "tdx_quote_collateral.json"),
            "--at", "2025-07-19T10:00:34Z"]);
        Assert.True(exit == 0, err + output);
        Assert.Contains("cpu0       tdx     affirming", output);

        var (exit2, output2, _) = CliRunner.Run(["appraise", "--policy", "strict", .. StrictParams, "--tdx",
            "--quote", Vectors.Path("dcap-qvl", "sample", "tdx_quote_outdated"), "--collateral", Vectors.Path("dcap-qvl", "sample", "tdx_quote_outdated_collateral.json"),
            "--at", "2026-03-20T10:41:14Z"]);
        Assert.Equal(1, exit2);
        Assert.Contains("no matching TCB level", output2);
        Assert.Contains("instance-identity=99", output2);
    }

    [Fact]
    public void Appraise_gpu_with_matching_rims_affirms_the_gpu_but_strict_still_needs_a_cpu()
    {
        var h = Vectors.Path("nvtrust", "history-2023-initial-samples");
        var l = Vectors.Path("nvtrust", "local_gpu_verifier-samples");
        var (exit, output, _) = CliRunner.Run(["appraise", "--policy", "strict", .. StrictParams, "--gpu",
            "--evidence", Path.Combine(h, "attestationReport.txt"), "--cert-chain", Path.Combine(h, "gpuAkCertChain.txt"),
            "--nonce", "4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e",
            "--rim", Path.Combine(l, "Driver_RIM_test_no_gpu.swidtag"), "--rim", Path.Combine(l, "1010_0200_882_96005E0001_test_no_gpu.swidtag"),
            "--at", "2024-06-01T00:00:00Z", "--output", "json"]);
        Assert.Equal(1, exit);
        using var doc = JsonDocument.Parse(output);
        var submods = doc.RootElement.GetProperty("submods");
        Assert.Equal("affirming", submods.GetProperty("gpu0").GetProperty("ear.status").GetString());
        Assert.Equal(2, submods.GetProperty("gpu0").GetProperty("ear.trustworthiness-vector").GetProperty("executables").GetInt32());
        var e = Assert.Single(doc.RootElement.GetProperty("veil.explanations").EnumerateArray());
        Assert.Equal("veil.cpu_count", e.GetProperty("claim").GetString());
        Assert.StartsWith("strict.yaml:", e.GetProperty("source").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Appraise_modes_are_exclusive()
    {
        var (exit, _, err) = CliRunner.Run(["appraise", "--policy", "strict", .. StrictParams, "--snp", "--tdx", "--quote", "x"]);
        Assert.Equal(2, exit);
        Assert.Contains("only one of --snp, --tdx, --gpu", err);
        Assert.Equal(2, CliRunner.Run(["appraise", "--policy", "strict", .. StrictParams, "--tdx"]).Exit);
    }

    [Fact]
    public void Claims_lists_the_catalogue_by_tee()
    {
        var (exit, output, _) = CliRunner.Run("policy", "claims", "--tee", "snp");
        Assert.Equal(0, exit);
        Assert.Contains("snp.policy.debug", output);
        Assert.Contains("boolean", output);
        Assert.DoesNotContain("tdx.mr_td", output);
    }

    [Fact]
    public void Init_data_bound_through_host_data_feeds_init_data_claims_and_an_unbound_one_is_refused()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            var toml = Path.Combine(dir.FullName, "initdata.toml");
            File.WriteAllText(toml, "algorithm = \"sha384\"\nversion = \"0.1.0\"\n\n[data]\nimage_digest = \"sha256:1111\"\n");
            var hostData = Convert.ToHexStringLower(System.Security.Cryptography.SHA384.HashData(File.ReadAllBytes(toml))[..32]);
            var policy = Path.Combine(dir.FullName, "p.yaml");
            File.WriteAllText(policy, "apiVersion: veil.dev/v1\nkind: AttestationPolicy\nsubmodules:\n  cpu:\n    accept: [snp]\n    rules:\n"
                + "      - {name: image, claim: init_data.image_digest, equals: 'sha256:1111', trust: sourced-data}\n");
            var claims = Path.Combine(dir.FullName, "c.json");
            File.WriteAllText(claims, "{\"cpu\": {\"snp.host_data\": \"" + hostData + "\"}}");
            var (ok, okOut, okErr) = CliRunner.Run("appraise", "--policy", policy, "--claims", claims, "--init-data", toml);
            Assert.True(ok == 0, okErr + okOut);
            Assert.Contains("sourced-data=2", okOut);

            File.WriteAllText(claims, "{\"cpu\": {\"snp.host_data\": \"" + new string('0', 64) + "\"}}");
            var (bad, badOut, _) = CliRunner.Run("appraise", "--policy", policy, "--claims", claims, "--init-data", toml);
            Assert.Equal(1, bad);
            Assert.Contains("init_data.binding: expected snp.host_data " + hostData, badOut);

            var (noBinding, _, err) = CliRunner.Run("appraise", "--policy", policy, "--claims", claims);
            Assert.Equal(1, noBinding);
            Assert.Equal("", err);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void Check_lints_resource_policies_and_reference_value_files_by_kind()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            var rv = Path.Combine(dir.FullName, "rv.yaml");
            File.WriteAllText(rv, "apiVersion: veil.dev/v1\nkind: ReferenceValues\nsets:\n  imgs:\n    - {value: ab, provenance: test}\n");
            var (exit, output, err) = CliRunner.Run("policy", "check", "--policy", rv);
            Assert.True(exit == 0, err);
            Assert.Contains("1 reference sets, 1 values", output);

            var rp = Path.Combine(dir.FullName, "resources.yaml");
            File.WriteAllText(rp, "apiVersion: veil.dev/v1\nkind: ResourcePolicy\nresources:\n  - path: a/b/c\n    attestationPolicy: strict\n"
                + "  - path: a/b/d\n    attestationPolicy: " + Path.Combine(dir.FullName, "missing.yaml") + "\n");
            var (bad, _, badErr) = CliRunner.Run(["policy", "check", "--policy", rp, .. StrictParams]);
            Assert.Equal(2, bad);
            Assert.Contains("policy named at " + rp + ":6", badErr);
            Assert.Contains("policy file not found", badErr);

            File.WriteAllText(rp, "apiVersion: veil.dev/v1\nkind: ResourcePolicy\ndefault: {attestationPolicy: strict}\nresources:\n  - path: a/b/c\n    attestationPolicy: strict\n");
            var (ok, okOut, okErr) = CliRunner.Run(["policy", "check", "--policy", rp, .. StrictParams]);
            Assert.True(ok == 0, okErr);
            Assert.Contains("1 resource rules, default policy strict", okOut);
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
