using System.Text.Json;
using Veil.Topology.Tests.Fixtures;

namespace Veil.Cli.Tests;

public class TopologyCommandTests
{
    [Theory]
    [InlineData("table", "0000:1b:00.0  gpu")]
    [InlineData("tree", "      0000:1b:00.0 gpu 10de:2330")]
    [InlineData("json", "\"kind\": \"gpu\"")]
    public void Scan_prints_every_format(string format, string expected)
    {
        using var fx = SysfsFixture.Build(Topologies.HgxH100);
        var (exit, stdout, stderr) = CliRunner.Run("topology", "scan", "--sysfs", fx.Root, "--output", format);
        Assert.Equal(0, exit);
        Assert.Equal(string.Empty, stderr);
        Assert.Contains(expected, stdout, StringComparison.Ordinal);
        Assert.Contains("0000:c5:00.0", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Scan_of_a_broken_tree_warns_and_still_succeeds()
    {
        using var fx = SysfsFixture.Build(Topologies.SingleGpu);
        File.Delete(Path.Combine(fx.DeviceDir("0000:01:00.0"), "vendor"));
        var (exit, stdout, _) = CliRunner.Run("topology", "scan", "--sysfs", fx.Root);
        Assert.Equal(0, exit);
        Assert.Contains("warning: missing-file [0000:01:00.0]: vendor is missing", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_sysfs_is_exit_2_with_one_line()
    {
        var (exit, stdout, stderr) = CliRunner.Run("topology", "scan", "--sysfs", "/nonexistent/sys");
        Assert.Equal(2, exit);
        Assert.Equal(string.Empty, stdout);
        Assert.StartsWith("veil: --sysfs: ", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Fact]
    public void Plan_summary_shows_switches_and_diagnostics()
    {
        using var fx = SysfsFixture.Build(Topologies.HgxH100);
        var (exit, stdout, stderr) = CliRunner.Run("topology", "plan", "--sysfs", fx.Root, "--gpus", "all", "--with-nics", "--mode", "replicate", "--cvm", "snp");
        Assert.Equal(0, exit);
        Assert.Equal(string.Empty, stderr);
        Assert.Contains("4 emulated switch(es)", stdout, StringComparison.Ordinal);
        Assert.Contains("switch 0 mirrors 0000:19:00.0: rp0 → swup0 → swdp0_0, swdp0_1, swdp0_2", stdout, StringComparison.Ordinal);
        Assert.Contains("warning nvswitch-not-passed", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_writes_every_artifact_to_out()
    {
        using var fx = SysfsFixture.Build(Topologies.Lenovo4Gpu);
        var outDir = Path.Combine(Path.GetDirectoryName(fx.Root)!, "out");
        var (exit, stdout, _) = CliRunner.Run("topology", "plan", "--sysfs", fx.Root, "--gpus", "2", "--with-nics", "--mode", "replicate", "--emit", "all", "--out", outDir);
        Assert.Equal(0, exit);
        Assert.Equal(
            ["configuration-veil.toml", "nccl-topo.xml", "nvidia.com-pgpu.json", "plan.json", "qemu-pcie.args"],
            Directory.GetFiles(outDir).Select(Path.GetFileName).Order());
        Assert.Contains("wrote ", stdout, StringComparison.Ordinal);
        using var cdi = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "nvidia.com-pgpu.json")));
        Assert.Equal(2, cdi.RootElement.GetProperty("devices").GetArrayLength());
        Assert.Contains("cold_plug_vfio = \"switch-port\"", File.ReadAllText(Path.Combine(outDir, "configuration-veil.toml")), StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_emit_to_stdout_prints_only_the_artifact()
    {
        using var fx = SysfsFixture.Build(Topologies.SingleGpu);
        var (exit, stdout, _) = CliRunner.Run("topology", "plan", "--sysfs", fx.Root, "--gpus", "all", "--mode", "flatten", "--emit", "cdi");
        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal("nvidia.com/pgpu", doc.RootElement.GetProperty("kind").GetString());
    }

    [Fact]
    public void Plan_with_errors_is_exit_1_and_writes_nothing()
    {
        using var fx = SysfsFixture.Build(SysfsFixture.ChangeLine(Topologies.SingleGpu, "iommufd", "iommufd off"));
        var outDir = Path.Combine(Path.GetDirectoryName(fx.Root)!, "out");
        var (exit, stdout, stderr) = CliRunner.Run("topology", "plan", "--sysfs", fx.Root, "--gpus", "all", "--mode", "flatten", "--cvm", "tdx", "--emit", "all", "--out", outDir);
        Assert.Equal(1, exit);
        Assert.Contains("error cvm-without-iommufd", stdout, StringComparison.Ordinal);
        Assert.Equal("veil: the plan has 1 error(s); nothing written", stderr.Trim());
        Assert.False(Directory.Exists(outDir));
    }

    [Theory]
    [InlineData("--gpus", "0000:02:00.0", "veil: --gpus: 0000:02:00.0 is a Nic")]
    [InlineData("--gpus", "5", "veil: --gpus: asked for 5 GPUs, the host has 1")]
    [InlineData("--gpus", "../../etc", "veil: --gpus: '../../etc' is not 'all'")]
    public void Bad_plan_input_is_exit_2_naming_the_option(string option, string value, string expected)
    {
        using var fx = SysfsFixture.Build(Topologies.SingleGpu);
        var (exit, _, stderr) = CliRunner.Run("topology", "plan", "--sysfs", fx.Root, option, value, "--mode", "flatten");
        Assert.Equal(2, exit);
        Assert.StartsWith(expected, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--mode", "mirror")]
    [InlineData("--cvm", "sev")]
    [InlineData("--runtime", "java")]
    [InlineData("--emit", "yaml")]
    public void Unknown_choices_are_usage_errors(string option, string value)
    {
        string[] args = option == "--mode"
            ? ["topology", "plan", "--gpus", "all", option, value]
            : ["topology", "plan", "--gpus", "all", "--mode", "flatten", option, value];
        var (exit, _, stderr) = CliRunner.Run(args);
        Assert.Equal(2, exit);
        Assert.Contains(value, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Out_without_emit_is_a_usage_error()
    {
        using var fx = SysfsFixture.Build(Topologies.SingleGpu);
        var (exit, _, stderr) = CliRunner.Run("topology", "plan", "--sysfs", fx.Root, "--gpus", "all", "--mode", "flatten", "--out", "/tmp/x");
        Assert.Equal(2, exit);
        Assert.Contains("--out needs --emit", stderr, StringComparison.Ordinal);
    }
}
