using Veil.Tests.Shared;

namespace Veil.Guest.Tests;

/// <summary>The NVML attester against a fake libnvidia-ml built from C, serving the real H100 report and chain.</summary>
[Collection(FakeNvml.Collection)]
public sealed class NvmlTests
{
    private static readonly byte[] Report = Convert.FromHexString(Vectors.Text("nvtrust", "local_gpu_verifier-samples", "hopperAttestationReport.txt").Trim());
    private static readonly byte[] Chain = Vectors.Bytes("nvtrust", "local_gpu_verifier-samples", "hopperCertChain.txt");

    /// <summary>The request nonce recorded in the vector's MANIFEST.md.</summary>
    private static readonly byte[] Nonce = Convert.FromHexString("931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb");

    [Fact]
    public void Collects_report_and_chain_with_our_nonce_then_sets_ready()
    {
        FakeNvml.Configure(Report, Chain, gpus: 2);
        using (var gpu = NvidiaGpuAttester.Open(FakeNvml.LibraryPath))
        {
            var evidence = gpu.Collect(Nonce);
            Assert.Equal(2, evidence.Count);
            Assert.Equal([0, 1], evidence.Select(e => e.Index));
            Assert.All(evidence, e => Assert.Equal(Report, e.Report));
            Assert.All(evidence, e => Assert.Equal(Chain, e.CertChainPem));
            Assert.Equal(Nonce, FakeNvml.LastNonce());
            Assert.Equal(2u, gpu.Environment);
            gpu.SetReady();
        }

        Assert.Equal(0, FakeNvml.InitCount());
    }

    [Fact]
    public void Report_for_another_nonce_is_refused()
    {
        FakeNvml.Configure(Report, Chain);
        using var gpu = NvidiaGpuAttester.Open(FakeNvml.LibraryPath);
        var other = (byte[])Nonce.Clone();
        other[31] ^= 1;
        var ex = Assert.Throws<AttesterException>(() => gpu.Collect(other));
        Assert.Contains("gpu0: report request nonce differs", ex.Message);
        Assert.Equal(other, FakeNvml.LastNonce());
        Assert.Contains("nonce: 16 bytes", Assert.Throws<AttesterException>(() => gpu.Collect(new byte[16])).Message);
    }

    [Fact]
    public void Cc_off_devtools_on_and_no_gpus_are_refused()
    {
        FakeNvml.Configure(Report, Chain, ccFeature: 0);
        using (var gpu = NvidiaGpuAttester.Open(FakeNvml.LibraryPath))
        {
            Assert.Contains("not enabled", Assert.Throws<AttesterException>(() => gpu.Collect(Nonce)).Message);
        }

        FakeNvml.Configure(Report, Chain, devTools: 1);
        using (var gpu = NvidiaGpuAttester.Open(FakeNvml.LibraryPath))
        {
            Assert.Contains("dev-tools", Assert.Throws<AttesterException>(() => gpu.Collect(Nonce)).Message);
        }

        FakeNvml.Configure(Report, Chain, gpus: 0);
        using (var gpu = NvidiaGpuAttester.Open(FakeNvml.LibraryPath))
        {
            Assert.Contains("no GPUs", Assert.Throws<AttesterException>(() => gpu.Collect(Nonce)).Message);
        }
    }

    [Fact]
    public void Library_errors_carry_nvml_error_string()
    {
        FakeNvml.Configure([], Chain);
        using var gpu = NvidiaGpuAttester.Open(FakeNvml.LibraryPath);
        var ex = Assert.Throws<AttesterException>(() => gpu.Collect(Nonce));
        Assert.Contains("nvmlDeviceGetConfComputeGpuAttestationReport failed: Not Supported (nvmlReturn 3)", ex.Message);
    }

    [Fact]
    public void Missing_library_is_a_clear_error()
    {
        Assert.False(NvidiaGpuAttester.IsPresent("/nonexistent/libnvidia-ml.so.1"));
        Assert.True(NvidiaGpuAttester.IsPresent(FakeNvml.LibraryPath));
        var ex = Assert.Throws<AttesterException>(() => NvidiaGpuAttester.Open("/nonexistent/libnvidia-ml.so.1"));
        Assert.Contains("cannot be loaded", ex.Message);
    }
}
