using System.Security.Cryptography.X509Certificates;
using Veil.Attestation.Nvidia;
using Veil.Tests.Shared;

namespace Veil.Attestation.Tests.Nvidia;

/// <summary>The real NVIDIA vectors in testdata/vectors with the nonces, RIMs and times their MANIFESTs give.</summary>
internal static class NvidiaVectorCases
{
    /// <summary>Inside every test_no_gpu RIM signing window (MANIFEST: 2023-06-27 … 2025-06-22).</summary>
    public static readonly DateTimeOffset RimTime = DateTimeOffset.Parse("2024-06-01T00:00:00Z");

    /// <summary>"Today" for the MANIFESTs (2026-11): every 2023 RIM signing certificate has expired.</summary>
    public static readonly DateTimeOffset Today = DateTimeOffset.Parse("2026-11-21T00:00:00Z");

    /// <summary>Inside the 550.144.03 driver RIM's L4 window (2024-12-30 … 2026-12-30).</summary>
    public static readonly DateTimeOffset Rim550Time = DateTimeOffset.Parse("2026-03-01T00:00:00Z");

    public const string TestNoGpuNonce = "4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e";
    public const string SdkNonce = "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb";
    public const string Nonce59012 = "e97b23a1718095a0e9e35edca810768c70a6a5a389b705e753b197912bc11576";

    public static string Nvtrust(params string[] p) => Vectors.Path(["nvtrust", .. p]);

    public static string Sdk(params string[] p) => Vectors.Path(["attestation-sdk", "unit-tests-testdata", .. p]);

    public static string SdkCommon(string file) => Vectors.Path("attestation-sdk", "common-test-data", "serialized_test_evidence", file);

    public static IReadOnlyList<X509Certificate2> Chain(string path) => Certificates.Load(File.ReadAllBytes(path), path);

    public static NvidiaRimFile Rim(string path) => new(path, File.ReadAllBytes(path));

    public static NvidiaVerifier Verifier(DateTimeOffset at, params string[] rims) =>
        new(NvidiaCollateralSources.Files([.. rims.Select(Rim)], []), new FixedTimeProvider(at));

    public static Task<NvidiaSetResult> VerifyAsync(string evidence, string? chain, string? nonce, DateTimeOffset at, params string[] rims) =>
        Verifier(at, rims).VerifyAsync(File.ReadAllBytes(evidence), chain is null ? null : Chain(chain), nonce is null ? null : (ReadOnlyMemory<byte>?)Hex.Parse(nonce, "nonce"));

    // The 2023 H100 report that matches the two test_no_gpu RIMs (nvtrust MANIFEST case 1).
    public static string HistoryReport => Nvtrust("history-2023-initial-samples", "attestationReport.txt");

    public static string HistoryChain => Nvtrust("history-2023-initial-samples", "gpuAkCertChain.txt");

    public static string TestDriverRim => Nvtrust("local_gpu_verifier-samples", "Driver_RIM_test_no_gpu.swidtag");

    public static string TestVbiosRim => Nvtrust("local_gpu_verifier-samples", "1010_0200_882_96005E0001_test_no_gpu.swidtag");

    public static string SampleReport => Nvtrust("local_gpu_verifier-samples", "hopperAttestationReport.txt");

    public static string SampleChain => Nvtrust("local_gpu_verifier-samples", "hopperCertChain.txt");

    public static string Gpu(string file) => Sdk("sample_attestation_data", "gpu", file);

    public static string Failures(NvidiaSetResult r) => string.Join("; ", r.Combined.Failures);
}
