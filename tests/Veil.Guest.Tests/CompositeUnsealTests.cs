using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Veil.Broker;
using Veil.Broker.Hosting;
using Veil.Protocol.Binding;
using Veil.Protocol.Client;
using Veil.Sealing;
using Veil.Tests.Shared;

namespace Veil.Guest.Tests;

/// <summary>
/// End to end through the real broker: GPU evidence (fake NVML serving a real H100 report, verified with its RIMs)
/// chained into the CPU report, and a real TDX quote from a configfs-tsm folder verified with Intel's collateral.
/// Recorded vectors carry recorded nonces, so only the recorded value is replaced on both sides, in code.
/// </summary>
[Collection(FakeNvml.Collection)]
public sealed class CompositeUnsealTests : IDisposable
{
    private const string KeyId = "default/model/composite-kek";

    // Inside the test_no_gpu RIMs' window (to 2025-06-22); dcap-qvl's tdx_quote collateral is current at 2025-07-19T10:00:34Z.
    private static readonly DateTimeOffset RimTime = DateTimeOffset.Parse("2025-06-01T00:00:00Z", CultureInfo.InvariantCulture);
    private static readonly DateTimeOffset DcapTime = DateTimeOffset.Parse("2025-07-19T10:00:34Z", CultureInfo.InvariantCulture);

    /// <summary>The SPDM request nonce of nvtrust's 2023 H100 sample (its MANIFEST.md).</summary>
    private static readonly byte[] HistoryNonce = Convert.FromHexString("4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e");

    private static readonly byte[] GpuReport = Convert.FromHexString(Vectors.Text("nvtrust", "history-2023-initial-samples", "attestationReport.txt").Trim());
    private static readonly byte[] GpuChain = Vectors.Bytes("nvtrust", "history-2023-initial-samples", "gpuAkCertChain.txt");

    private const string SampleWithGpuPolicy = """
        apiVersion: veil.dev/v1
        kind: AttestationPolicy
        metadata:
          name: sample-with-gpu
          description: The sample CPU TEE plus at least one verified NVIDIA GPU (agent tests).
        submodules:
          cpu:
            accept: [sample]
            minCount: 1
            rules:
              - name: sample-svn-supported
                claim: sample.svn
                matches: "^[1-9][0-9]*$"
                trust: hardware
          gpu:
            accept: [nvidia]
            minCount: 1
            rules:
              - name: gpu-cc-on
                claim: nvidia.cc_mode
                equals: true
                trust: configuration
              - name: gpu-rim-measurements-match
                claim: nvidia.measurements_match
                equals: true
                trust: executables
        """;

    private readonly string root = Directory.CreateTempSubdirectory("veil-agent-composite-").FullName;
    private readonly byte[] weights = RandomNumberGenerator.GetBytes(50_000);

    public CompositeUnsealTests()
    {
        Directory.CreateDirectory(P("model"));
        File.WriteAllBytes(P("model/model.safetensors"), weights);
        using var kek = KeyEncryptionKey.Generate();
        kek.WriteToFile(P("kek"));
        SealedDirectory.Seal(P("model"), P("sealed"), kek, KeyId);
    }

    private string P(string name) => Path.Combine(root, name);

    private async Task<BrokerHost> GpuBrokerAsync(byte[]? deviceNonce)
    {
        File.WriteAllText(P("policy.yaml"), SampleWithGpuPolicy);
        var options = new BrokerOptions { AllowSample = true, Policy = P("policy.yaml"), NvidiaCollateralDir = AgentBroker.RimDirectory(root) };
        var (host, admin) = await AgentBroker.StartAsync(P("broker"), options, new RecordedBrokerBinding(deviceNonce: deviceNonce), new PinnedClock(RimTime));
        await AgentBroker.PutResourceAsync(host.Addresses[0], admin, KeyId, File.ReadAllBytes(P("kek")));
        return host;
    }

    [Fact]
    public async Task Gpu_evidence_is_chained_into_the_cpu_report_verified_and_the_gpus_set_ready_only_after_release()
    {
        FakeNvml.Configure(GpuReport, GpuChain);
        await using var broker = await GpuBrokerAsync(HistoryNonce);
        var readyAtAttest = new List<bool>();
        using var recorder = new RecordingHandler { OnRequest = path => readyAtAttest.Add(FakeNvml.Ready()) };
        using var http = new HttpClient(recorder) { BaseAddress = broker.Addresses[0] };
        using var gpus = NvidiaEvidenceProvider.Open("required", FakeNvml.LibraryPath, new RecordedAgentBinding(gpuNonce: HistoryNonce))!;
        var keys = new BrokerKeyProvider(http, new SampleEvidenceProvider()) { Devices = [gpus] };

        await UnsealPipeline.RunAsync(P("sealed"), P("tmpfs"), keys);

        Assert.Equal(weights, File.ReadAllBytes(P("tmpfs/model.safetensors")));
        Assert.True(FakeNvml.Ready());
        Assert.DoesNotContain(true, readyAtAttest);
        Assert.Equal(1, keys.Attempts);

        // What went over the wire: the nvidia map entry, and the CPU report data bound to that exact string (real binding).
        var sent = recorder.LastAttestation();
        var additional = sent.TeeEvidence.AdditionalEvidence!;
        using var map = JsonDocument.Parse(additional);
        var device = map.RootElement.GetProperty("nvidia").GetProperty("device_evidence_list")[0];
        Assert.Equal(GpuReport, Convert.FromBase64String(device.GetProperty("evidence").GetString()!));
        Assert.Equal(ReportDataBinding.PrimaryDigest(sent.RuntimeData.Nonce, sent.RuntimeData.TeePubKey, additional),
            Convert.FromBase64String(sent.TeeEvidence.PrimaryEvidence.GetProperty("report_data").GetString()!));
    }

    [Fact]
    public async Task Gpu_evidence_the_broker_refuses_leaves_the_gpus_not_ready_and_shows_the_brokers_reason()
    {
        FakeNvml.Configure(GpuReport, GpuChain);
        await using var broker = await GpuBrokerAsync(deviceNonce: null); // the broker expects this session's device nonce
        using var http = KbsClient.CreateHttpClient(broker.Addresses[0]);
        using var gpus = NvidiaEvidenceProvider.Open("required", FakeNvml.LibraryPath, new RecordedAgentBinding(gpuNonce: HistoryNonce))!;
        var keys = new BrokerKeyProvider(http, new SampleEvidenceProvider(), firstDelay: TimeSpan.FromMilliseconds(10)) { Devices = [gpus] };

        var e = await Assert.ThrowsAsync<KbsClientException>(() => UnsealPipeline.RunAsync(P("sealed"), P("tmpfs"), keys));

        Assert.Equal((401, "AttestationFailed"), (e.Status, e.Kind));
        Assert.Contains("nvidia evidence did not verify", e.Detail, StringComparison.Ordinal);
        Assert.Contains("nonce", e.Detail, StringComparison.Ordinal);
        Assert.False(FakeNvml.Ready());
        Assert.Equal(1, keys.Attempts); // a refusal is an answer, not retried
        Assert.False(Directory.Exists(P("tmpfs")) && Directory.EnumerateFileSystemEntries(P("tmpfs")).Any());
    }

    private async Task<BrokerHost> TdxBrokerAsync(byte[] quote)
    {
        var options = new BrokerOptions
        {
            TdxCollateralDir = AgentBroker.DcapCollateralDirectory(root),
            PolicyParameters = new Dictionary<string, string> { ["snp_min_bootloader"] = "0", ["snp_min_tee"] = "0", ["snp_min_snp"] = "0", ["snp_min_microcode"] = "0" },
        };
        var (host, admin) = await AgentBroker.StartAsync(P("broker"), options, new RecordedBrokerBinding(cpuReportData: TdxEvidenceTests.ReportData(quote)), new PinnedClock(DcapTime));
        await AgentBroker.PutResourceAsync(host.Addresses[0], admin, KeyId, File.ReadAllBytes(P("kek")));
        return host;
    }

    [Fact]
    public async Task Real_tdx_quote_from_configfs_tsm_is_verified_under_strict_and_the_weights_restored()
    {
        var quote = Vectors.Bytes("dcap-qvl", "sample", "tdx_quote");
        using var tsm = new TsmFolder("tdx_guest", quote);
        await using var broker = await TdxBrokerAsync(quote);
        using var http = KbsClient.CreateHttpClient(broker.Addresses[0]);
        var tdx = new TdxEvidenceProvider(tsm.Attester(), tsm.CcelPath, new RecordedAgentBinding(TdxEvidenceTests.ReportData(quote)));

        var result = await UnsealPipeline.RunAsync(P("sealed"), P("tmpfs"), new BrokerKeyProvider(http, tdx));

        Assert.Equal(weights, File.ReadAllBytes(P("tmpfs/model.safetensors")));
        Assert.Equal(KeyId, result.KeyId);
        Assert.Equal(TdxEvidenceTests.ReportData(quote), tsm.InBlob);
    }

    [Fact]
    public async Task Tdx_event_log_that_does_not_replay_to_the_quotes_rtmrs_is_refused_with_the_brokers_reason()
    {
        var quote = Vectors.Bytes("dcap-qvl", "sample", "tdx_quote");
        using var tsm = new TsmFolder("tdx_guest", quote);
        tsm.WriteCcel(Vectors.Bytes("trustee", "deps", "eventlog", "test_data", "CCEL_data")); // another TD's boot
        await using var broker = await TdxBrokerAsync(quote);
        using var http = KbsClient.CreateHttpClient(broker.Addresses[0]);
        var tdx = new TdxEvidenceProvider(tsm.Attester(), tsm.CcelPath, new RecordedAgentBinding(TdxEvidenceTests.ReportData(quote)));

        var e = await Assert.ThrowsAsync<KbsClientException>(() => UnsealPipeline.RunAsync(P("sealed"), P("tmpfs"), new BrokerKeyProvider(http, tdx)));

        Assert.Equal(401, e.Status);
        Assert.Equal("AttestationFailed", e.Kind);

        // The broker replayed the log the agent sent (RTMR0 as Trustee's own test expects for CCEL_data) against the quote's.
        Assert.Contains("event_log.rtmr0: expected 44c0197b", e.Detail, StringComparison.Ordinal);
        Assert.Contains("actual 2dc712306a963eadb894ad47dbaa17df44814151555aee11cbb843becca88950ffd079664902e6f22c66f7c8213543f4 (replayed)", e.Detail, StringComparison.Ordinal);
        Assert.False(Directory.Exists(P("tmpfs")) && Directory.EnumerateFileSystemEntries(P("tmpfs")).Any());
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
