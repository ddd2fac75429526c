namespace Veil.Guest;

/// <summary>One GPU's evidence: its SPDM report over our nonce and its attestation certificate chain (PEM).</summary>
/// <param name="Arch">As Trustee's NVIDIA evidence names it: HOPPER or BLACKWELL.</param>
public sealed record GpuEvidence(int Index, byte[] Report, byte[] CertChainPem, string Arch);

/// <summary>
/// NVIDIA GPUs in confidential-computing mode, through NVML. Refuses unless CC is on (and dev-tools mode off,
/// which would expose GPU memory to the host), checks that each report's SPDM request nonce (bytes 4..35) is the
/// nonce we sent, and after the broker accepted the evidence, sets the GPUs' ready state: until then the driver
/// refuses CUDA work.
/// </summary>
public sealed class NvidiaGpuAttester : IDisposable
{
    private const string Source = "nvml";
    private const int RequestNonceOffset = 4;
    private readonly NvmlLibrary nvml;

    private NvidiaGpuAttester(NvmlLibrary nvml) => this.nvml = nvml;

    /// <param name="libraryPath">libnvidia-ml.so.1 by default; a path to load another build (tests: a fake from C).</param>
    public static NvidiaGpuAttester Open(string libraryPath = NvmlLibrary.DefaultName) => new(NvmlLibrary.Open(libraryPath));

    public static bool IsPresent(string libraryPath = NvmlLibrary.DefaultName) => NvmlLibrary.IsPresent(libraryPath);

    /// <summary>Whether confidential computing is on and at least one GPU is visible (what <c>--gpu auto</c> asks).</summary>
    public bool HasConfidentialGpus() => nvml.GetConfComputeState().CcFeature == 1 && nvml.DeviceCount() > 0;

    public IReadOnlyList<GpuEvidence> Collect(ReadOnlySpan<byte> nonce)
    {
        if (nonce.Length != NvmlLibrary.NonceSize)
        {
            throw new AttesterException(Source, $"nonce: {nonce.Length} bytes; the SPDM nonce is {NvmlLibrary.NonceSize}");
        }

        var state = nvml.GetConfComputeState();
        if (state.CcFeature != 1)
        {
            throw new AttesterException(Source, "confidential computing is not enabled on this system (ccFeature = 0)");
        }

        if (state.DevToolsMode != 0)
        {
            throw new AttesterException(Source, "dev-tools mode is on: GPU memory is observable, refusing to attest");
        }

        var count = nvml.DeviceCount();
        if (count == 0)
        {
            throw new AttesterException(Source, "no GPUs");
        }

        var result = new List<GpuEvidence>();
        for (uint i = 0; i < count; i++)
        {
            var device = nvml.Device(i);
            var arch = nvml.Architecture(device) switch
            {
                NvmlLibrary.ArchHopper => "HOPPER",
                NvmlLibrary.ArchBlackwell => "BLACKWELL",
                var other => throw new AttesterException(Source, $"gpu{i}: architecture {other} has no confidential computing (Hopper or Blackwell needed)"),
            };
            var report = nvml.AttestationReport(device, nonce);
            if (report.Length < RequestNonceOffset + NvmlLibrary.NonceSize || !report.AsSpan(RequestNonceOffset, NvmlLibrary.NonceSize).SequenceEqual(nonce))
            {
                throw new AttesterException(Source, $"gpu{i}: report request nonce differs from the nonce sent (stale or replayed report)");
            }

            result.Add(new GpuEvidence((int)i, report, nvml.AttestationCertChain(device), arch));
        }

        return result;
    }

    /// <summary>Marks the GPUs ready for work; call only after the broker accepted their evidence.</summary>
    public void SetReady()
    {
        nvml.SetGpusReadyState(true);
        if (!nvml.GetGpusReadyState())
        {
            throw new AttesterException(Source, "GPUs ready state did not change after nvmlSystemSetConfComputeGpusReadyState");
        }
    }

    /// <summary>The CC environment (0 unavailable, 1 simulation, 2 production), for diagnostics.</summary>
    public uint Environment => nvml.GetConfComputeState().Environment;

    public void Dispose() => nvml.Dispose();
}
