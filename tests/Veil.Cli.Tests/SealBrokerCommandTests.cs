using System.Security.Cryptography;
using Veil.Broker;
using Veil.Broker.Hosting;
using Veil.Broker.Keys;

namespace Veil.Cli.Tests;

/// <summary><c>veil seal --broker</c> stores a new key in a real broker; <c>veil unseal --broker --tee sample</c> gets it back after attestation.</summary>
public sealed class SealBrokerCommandTests : IAsyncLifetime
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "veil-cli-broker-" + Guid.NewGuid().ToString("N"));
    private BrokerHost? broker;
    private string adminToken = "";

    private string P(string name) => Path.Combine(root, name);

    private string Url => broker!.Addresses[0].ToString();

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(P("model"));
        File.WriteAllBytes(P("model/model.safetensors"), RandomNumberGenerator.GetBytes(40_000));
        adminToken = BrokerInit.Run(P("data"), TimeSpan.FromHours(1), TimeProvider.System).AdminTokenPath;
        broker = await BrokerHost.StartAsync(new BrokerOptions { DataDir = P("data"), Urls = ["http://127.0.0.1:0"], AllowSample = true, Policy = "sample" }, CancellationToken.None);
    }

    [Fact]
    public void Seal_into_broker_then_unseal_with_sample_attestation()
    {
        var (exit, output, err) = CliRunner.Run("seal", P("model"), "--out", P("sealed"), "--key-id", "default/model/cli-kek", "--broker", Url, "--admin-token", adminToken);
        Assert.True(exit == 0, err);
        Assert.Contains("stored a new key-encryption key", output);
        Assert.False(File.Exists(P("kek")));

        (exit, output, err) = CliRunner.Run("unseal", P("sealed"), "--out", P("tmpfs"), "--broker", Url, "--tee", "sample");
        Assert.True(exit == 0, err);
        Assert.Contains("renamed into place in one step", output);
        Assert.Equal(File.ReadAllBytes(P("model/model.safetensors")), File.ReadAllBytes(P("tmpfs/model.safetensors")));
    }

    [Fact]
    public void Broker_refusal_is_exit_1_with_the_brokers_reason()
    {
        using (var kek = Veil.Sealing.KeyEncryptionKey.Generate())
        {
            kek.WriteToFile(P("kek"));
        }

        Assert.Equal(0, CliRunner.Run("seal", P("model"), "--out", P("sealed"), "--key-id", "default/model/not-there", "--kek-file", P("kek")).Exit);
        var (exit, output, err) = CliRunner.Run("unseal", P("sealed"), "--out", P("tmpfs"), "--broker", Url, "--tee", "sample");
        Assert.Equal(1, exit);
        Assert.Contains("broker answered 404", err);
        Assert.Contains("does not exist", err);
        Assert.DoesNotContain("restored", output);
    }

    [Theory]
    [InlineData("--tee", "tpm", "is not one of")]
    [InlineData("--gpu", "sometimes", "--gpu: 'sometimes' is not one of auto, off, required")]
    [InlineData("--kek-file", "x", "exactly one of --kek-file, --broker or --cdh")]
    public void Bad_unseal_options_are_usage_errors(string option, string value, string message)
    {
        var (exit, _, err) = CliRunner.Run("unseal", P("model"), "--out", P("tmpfs"), "--broker", Url, option, value);
        Assert.Equal(2, exit);
        Assert.Contains(message, err);
    }

    [Fact]
    public void Snp_without_a_cpu_attester_is_refused_as_attestation_failure()
    {
        if (Directory.Exists("/sys/kernel/config/tsm/report") || File.Exists("/dev/sev-guest"))
        {
            return; // inside a confidential VM the attester exists; this checks the plain-host answer only
        }

        var (exit, _, err) = CliRunner.Run("unseal", P("model"), "--out", P("tmpfs"), "--broker", Url, "--tee", "snp");
        Assert.Equal(1, exit);
        Assert.Contains("attestation failed: detect: no CPU attester", err);
    }

    [Fact]
    public void Tdx_is_collected_from_configfs_tsm_and_without_it_is_an_attestation_failure()
    {
        if (Directory.Exists("/sys/kernel/config/tsm/report"))
        {
            return; // inside a confidential VM the attester exists; this checks the plain-host answer only
        }

        var (exit, _, err) = CliRunner.Run("unseal", P("model"), "--out", P("tmpfs"), "--broker", Url, "--tee", "tdx");
        Assert.Equal(1, exit);
        Assert.Contains("attestation failed: configfs-tsm: /sys/kernel/config/tsm/report: not present; TDX quotes come from configfs-tsm", err);
        Assert.DoesNotContain("cannot yet", err);
    }

    [Fact]
    public void Required_gpu_evidence_without_nvml_is_an_attestation_failure()
    {
        if (Veil.Guest.NvidiaGpuAttester.IsPresent())
        {
            return; // a host with the NVIDIA driver has NVML; this checks the answer without it
        }

        var (exit, _, err) = CliRunner.Run("unseal", P("model"), "--out", P("tmpfs"), "--broker", Url, "--tee", "sample", "--gpu", "required");
        Assert.Equal(1, exit);
        Assert.Contains("attestation failed: nvml: libnvidia-ml.so.1: cannot be loaded", err);
    }

    [Fact]
    public void Seal_needs_a_key_source_and_a_token_with_broker()
    {
        Assert.Contains("give --kek-file", CliRunner.Run("seal", P("model"), "--out", P("s1"), "--key-id", "a/b/c").Err);
        Assert.Contains("go together", CliRunner.Run("seal", P("model"), "--out", P("s2"), "--key-id", "a/b/c", "--broker", Url).Err);
        Assert.Contains("not an http(s) URL", CliRunner.Run("seal", P("model"), "--out", P("s3"), "--key-id", "a/b/c", "--broker", "ftp://x", "--admin-token", adminToken).Err);
        File.WriteAllText(P("bad.token"), "not-a-token");
        var (exit, _, err) = CliRunner.Run("seal", P("model"), "--out", P("s4"), "--key-id", "a/b/c", "--broker", Url, "--admin-token", P("bad.token"));
        Assert.Equal(1, exit);
        Assert.Contains("401", err);
        Assert.False(Directory.Exists(P("s4")));
    }

    public async Task DisposeAsync()
    {
        if (broker is not null)
        {
            await broker.DisposeAsync();
        }

        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
