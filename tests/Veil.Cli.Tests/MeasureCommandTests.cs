using System.Text.Json;
using Veil.Tests.Shared;

namespace Veil.Cli.Tests;

public class MeasureCommandTests
{
    private static string Ovmf => Vectors.Path("sev-snp-measure", "tests-fixtures", "ovmf_AmdSev_suffix.bin");

    [Fact]
    public void Snp_with_empty_kernel_prints_the_upstream_digest()
    {
        var empty = Path.GetTempFileName();
        try
        {
            var (exit, output, err) = CliRunner.Run("measure", "snp", "--ovmf", Ovmf, "--kernel", empty, "--initrd", empty,
                "--append", "console=ttyS0 loglevel=7", "--vcpus", "1", "--vcpu-type", "EPYC-v4");
            Assert.True(exit == 0, err);
            Assert.Equal("803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977", output.Trim());
        }
        finally
        {
            File.Delete(empty);
        }
    }

    [Fact]
    public void Ovmf_hash_shortcut_and_json_output()
    {
        var (exit, hash, _) = CliRunner.Run("measure", "ovmf-hash", "--ovmf", Ovmf);
        Assert.Equal(0, exit);
        Assert.Equal("086e2e9149ebf45abdc3445fba5b2da8270bdbb04094d7a2c37faaa4b24af3aa16aff8c374c2a55c467a50da6d466b74", hash.Trim());

        var (exit2, json, err) = CliRunner.Run("measure", "snp", "--ovmf", Ovmf, "--vcpus", "1", "--vmm-type", "gce", "--guest-features", "0x1",
            "--ovmf-hash", hash.Trim(), "--output", "json", "--kernel", "/dev/null", "--initrd", "/dev/null", "--append", "");
        Assert.True(exit2 == 0, err);
        using var doc = JsonDocument.Parse(json);
        Assert.Equal("5da7106cf14cf46b1725ebab123eb9e53bd46a1e9f400cd0c08e7827b04b688ea8b4e403c8404efed4397ea5d5d0722e", doc.RootElement.GetProperty("measurement").GetString());
        Assert.Equal("snp.measurement", doc.RootElement.GetProperty("claim").GetString());
    }

    [Theory]
    [InlineData("--vcpu-type", "EPYC-Zen9")]
    [InlineData("--guest-features", "zz")]
    [InlineData("--ovmf-hash", "abc")]
    public void Bad_values_are_usage_errors_naming_the_option(string option, string value)
    {
        var (exit, _, err) = CliRunner.Run("measure", "snp", "--ovmf", Ovmf, "--vcpus", "1", "--vcpu-type", "EPYC-v4", option, value);
        Assert.Equal(2, exit);
        Assert.Contains(option, err);
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void Kernel_with_non_hashes_ovmf_is_the_upstream_error()
    {
        var (exit, _, err) = CliRunner.Run("measure", "snp", "--ovmf", Vectors.Path("sev-snp-measure", "tests-fixtures", "ovmf_OvmfX64_suffix.bin"),
            "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--kernel", "/dev/null");
        Assert.Equal(2, exit);
        Assert.Contains("doesn't include SNP_KERNEL_HASHES section", err);
    }

    [Fact]
    public void Missing_ovmf_file_is_exit_2()
    {
        var (exit, _, err) = CliRunner.Run("measure", "snp", "--ovmf", "/nonexistent/OVMF.fd", "--vcpus", "1", "--vcpu-type", "EPYC-v4");
        Assert.Equal(2, exit);
        Assert.Contains("--ovmf", err);
    }

    [Fact]
    public void Initdata_digest_hex_and_json()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "algorithm = \"sha256\"\nversion = \"0.1.0\"\n[data]\n");
            var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path)));
            var (exit, output, _) = CliRunner.Run("measure", "initdata", path);
            Assert.Equal(0, exit);
            Assert.Equal(expected, output.Trim());
            var (_, json, _) = CliRunner.Run("measure", "initdata", path, "--output", "json");
            using var doc = JsonDocument.Parse(json);
            Assert.Equal(expected, doc.RootElement.GetProperty("snp.host_data").GetString());
            Assert.Equal(expected + new string('0', 32), doc.RootElement.GetProperty("tdx.mr_config_id").GetString());
            var (exit3, _, err3) = CliRunner.Run("measure", "initdata", path, "--alg", "sha384");
            Assert.Equal(2, exit3);
            Assert.Contains("--alg", err3);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Id_block_from_upstream_test_keys()
    {
        var keys = Vectors.Path("sev-snp-measure", "tests-keyfile");
        var ld = Convert.ToHexStringLower(Convert.FromBase64String("B28FLQi9p6cAqipgjFyqawDrrSl7bWioWkWx5mmlWLZ+G5HShKMB/mPE+gdQRn7t"));
        var (exit, output, err) = CliRunner.Run("measure", "id-block", "--measurement", ld,
            "--id-key", Path.Combine(keys, "id_key_test.pem"), "--author-key", Path.Combine(keys, "author_key_test.pem"));
        Assert.True(exit == 0, err);
        Assert.Contains("id-block=B28FLQi9p6cAqipgjFyqawDrrSl7bWioWkWx5mmlWLZ+G5HShKMB/mPE+gdQRn7tAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABAAAAAAAAAAAAAwAAAAAA", output);
        Assert.Contains("id_key_digest=" + Convert.ToHexStringLower(Convert.FromBase64String("hwt+NcU/inLQ0yL3WrKvgmJ5Kq9leWIs5BMcPyHyied8sFYKXjuQs5MuZ07HCcsU")), output);
        Assert.DoesNotContain("PRIVATE", output);
    }
}
