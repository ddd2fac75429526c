using System.Text;
using System.Text.Json;
using Veil.Attestation.Nvidia;
using Veil.Protocol.Binding;
using Veil.Protocol.Client;
using Veil.Tests.Shared;

namespace Veil.Guest.Tests;

/// <summary>The nvidia entry of additional_evidence and its chaining into the CPU report data, against the fake NVML serving a real H100 report.</summary>
[Collection(FakeNvml.Collection)]
public sealed class GpuEvidenceTests
{
    private const string Nonce = "cmVhbGx5IGEgY2hhbGxlbmdlIG5vbmNlIGZyb20gS0JT";
    private static readonly byte[] Report = Convert.FromHexString(Vectors.Text("nvtrust", "local_gpu_verifier-samples", "hopperAttestationReport.txt").Trim());
    private static readonly byte[] Chain = Vectors.Bytes("nvtrust", "local_gpu_verifier-samples", "hopperCertChain.txt");

    /// <summary>The request nonce recorded in the vector's MANIFEST.md.</summary>
    private static readonly byte[] ReportNonce = Convert.FromHexString("931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb");

    private static NvidiaEvidenceProvider Gpus(byte[]? nonce = null) =>
        NvidiaEvidenceProvider.Open("required", FakeNvml.LibraryPath, new RecordedAgentBinding(gpuNonce: nonce))!;

    [Fact]
    public void Every_gpu_is_listed_as_trustee_nvidia_evidence_that_the_brokers_parser_reads_back()
    {
        FakeNvml.Configure(Report, Chain, gpus: 2);
        using var key = TeeKey.CreateEc();
        using var gpus = Gpus(ReportNonce);

        var evidence = gpus.Evidence(Nonce, key.PublicJson);

        var list = evidence.GetProperty("device_evidence_list").EnumerateArray().ToList();
        Assert.Equal(2, list.Count);
        Assert.All(list, d =>
        {
            Assert.Equal("HOPPER", d.GetProperty("arch").GetString());
            Assert.Equal(Report, Convert.FromBase64String(d.GetProperty("evidence").GetString()!));
            Assert.Equal(Chain, Convert.FromBase64String(d.GetProperty("certificate").GetString()!));
            Assert.Equal(Convert.ToHexStringLower(ReportNonce), d.GetProperty("nonce").GetString());
        });
        var parsed = NvidiaEvidence.Parse(Encoding.UTF8.GetBytes(evidence.GetRawText()));
        Assert.Equal(2, parsed.Devices.Count);
        Assert.All(parsed.Devices, d =>
        {
            Assert.Equal("HOPPER", d.Arch);
            Assert.Equal(ReportNonce, d.Nonce!.Value.ToArray());
        });
        Assert.Equal(5, parsed.Devices[0].Certificates.Count);
    }

    [Fact]
    public void Each_gpu_is_asked_with_the_device_nonce_of_the_session_and_a_stale_report_is_refused()
    {
        FakeNvml.Configure(Report, Chain);
        using var key = TeeKey.CreateEc();
        using var gpus = NvidiaEvidenceProvider.Open("auto", FakeNvml.LibraryPath)!;

        var e = Assert.Throws<AttesterException>(() => gpus.Evidence(Nonce, key.PublicJson));

        Assert.Equal(ReportDataBinding.GpuNonce(Nonce, key.PublicJson), FakeNvml.LastNonce());
        Assert.Contains("gpu0: report request nonce differs", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_gpu_without_confidential_computing_architecture_is_refused()
    {
        FakeNvml.Configure(Report, Chain);
        FakeNvml.SetArch(7);
        using var key = TeeKey.CreateEc();
        using var gpus = Gpus(ReportNonce);
        var e = Assert.Throws<AttesterException>(() => gpus.Evidence(Nonce, key.PublicJson));
        Assert.Equal("nvml: gpu0: architecture 7 has no confidential computing (Hopper or Blackwell needed)", e.Message);
    }

    [Fact]
    public void Gpu_modes_auto_off_and_required()
    {
        const string missing = "/nonexistent/libnvidia-ml.so.1";
        Assert.Null(NvidiaEvidenceProvider.Open("off", FakeNvml.LibraryPath));
        Assert.Null(NvidiaEvidenceProvider.Open("auto", missing));
        Assert.Contains("cannot be loaded", Assert.Throws<AttesterException>(() => NvidiaEvidenceProvider.Open("required", missing)).Message, StringComparison.Ordinal);

        foreach (var (gpus, cc) in new[] { (0u, 1u), (1u, 0u) })
        {
            FakeNvml.Configure(Report, Chain, gpus: gpus, ccFeature: cc);
            Assert.Null(NvidiaEvidenceProvider.Open("auto", FakeNvml.LibraryPath));
            var e = Assert.Throws<AttesterException>(() => NvidiaEvidenceProvider.Open("required", FakeNvml.LibraryPath));
            Assert.Equal("nvml: GPU evidence is required but NVML reports no GPU in confidential-computing mode", e.Message);
            Assert.Equal(0, FakeNvml.InitCount());
        }

        FakeNvml.Configure(Report, Chain);
        using (var auto = NvidiaEvidenceProvider.Open("auto", FakeNvml.LibraryPath))
        {
            Assert.NotNull(auto);
        }

        Assert.Equal(0, FakeNvml.InitCount());
        Assert.Throws<ArgumentException>(() => NvidiaEvidenceProvider.Open("sometimes", FakeNvml.LibraryPath));
    }

    [Fact]
    public void The_cpu_report_data_binds_the_exact_additional_evidence_string()
    {
        FakeNvml.Configure(Report, Chain);
        using var key = TeeKey.CreateEc();
        using var gpus = Gpus(ReportNonce);

        var composite = CompositeEvidence.Collect(new SampleEvidenceProvider(), [gpus], Nonce, key.PublicJson);

        // The string is the map tee → evidence, exactly as sent; the sample TEE's report_data is the SHA-384 binding over it.
        using var map = JsonDocument.Parse(composite.AdditionalEvidence!);
        Assert.Equal(["nvidia"], map.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(Report, Convert.FromBase64String(map.RootElement.GetProperty("nvidia").GetProperty("device_evidence_list")[0].GetProperty("evidence").GetString()!));
        var reportData = Convert.FromBase64String(composite.PrimaryEvidence.GetProperty("report_data").GetString()!);
        Assert.Equal(ReportDataBinding.PrimaryDigest(Nonce, key.PublicJson, composite.AdditionalEvidence!), reportData);
        Assert.NotEqual(ReportDataBinding.PrimaryDigest(Nonce, key.PublicJson, ""), reportData);

        var alone = CompositeEvidence.Collect(new SampleEvidenceProvider(), [], Nonce, key.PublicJson);
        Assert.Equal("", alone.AdditionalEvidence);
        Assert.Equal(ReportDataBinding.PrimaryDigest(Nonce, key.PublicJson, ""), Convert.FromBase64String(alone.PrimaryEvidence.GetProperty("report_data").GetString()!));
    }

    [Fact]
    public void A_provider_that_cannot_bind_device_evidence_refuses_instead_of_sending_an_unbound_report()
    {
        FakeNvml.Configure(Report, Chain);
        using var key = TeeKey.CreateEc();
        using var gpus = Gpus(ReportNonce);
        var e = Assert.Throws<AttesterException>(() => CompositeEvidence.Collect(new PrimaryOnly(), [gpus], Nonce, key.PublicJson));
        Assert.Equal("sample: this evidence provider cannot bind device evidence into its report data", e.Message);
        Assert.Equal("", CompositeEvidence.Collect(new PrimaryOnly(), [], Nonce, key.PublicJson).AdditionalEvidence);
    }

    /// <summary>A third-party provider written against the original interface (primary evidence only).</summary>
    private sealed class PrimaryOnly : IEvidenceProvider
    {
        public string Tee => "sample";

        public JsonElement PrimaryEvidence(string nonce, JsonElement teePubKey) => SampleAttester.Evidence(nonce, teePubKey);
    }
}
