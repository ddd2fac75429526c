using System.Text.Json;
using Veil.Protocol.Messages;
using Veil.Abi.Tee;

namespace Veil.Guest;

/// <summary>
/// The <c>nvidia</c> entry of <c>additional_evidence</c>, as Trustee's NVIDIA verifier reads it:
/// <c>{"device_evidence_list": [{arch, evidence: base64 SPDM report, certificate: base64 PEM chain, nonce: hex}]}</c>,
/// every GPU asked with the device nonce (first 32 bytes of SHA-384(JCS({nonce, tee-pubkey}))). Once the broker
/// released the key, the GPUs' ready state is set. Owns the NVML session.
/// </summary>
public sealed class NvidiaEvidenceProvider : IDeviceEvidenceProvider, IDisposable
{
    private readonly NvidiaGpuAttester gpus;
    private readonly IEvidenceBinding binding;

    public NvidiaEvidenceProvider(NvidiaGpuAttester gpus)
        : this(gpus, KbsEvidenceBinding.Instance)
    {
    }

    internal NvidiaEvidenceProvider(NvidiaGpuAttester gpus, IEvidenceBinding binding)
    {
        this.gpus = gpus;
        this.binding = binding;
    }

    public string Tee => TeeNames.Nvidia;

    /// <summary>
    /// <c>--gpu</c>: <c>off</c> sends no GPU evidence; <c>auto</c> sends it when NVML loads and reports GPUs in
    /// confidential-computing mode; <c>required</c> refuses to attest without them. Null when none are sent.
    /// </summary>
    public static NvidiaEvidenceProvider? Open(string mode, string libraryPath = NvmlLibrary.DefaultName) =>
        Open(mode, libraryPath, KbsEvidenceBinding.Instance);

    internal static NvidiaEvidenceProvider? Open(string mode, string libraryPath, IEvidenceBinding binding)
    {
        switch (mode)
        {
            case "off":
                return null;
            case "auto" when !NvidiaGpuAttester.IsPresent(libraryPath):
                return null;
            case "auto" or "required":
                var gpus = NvidiaGpuAttester.Open(libraryPath);
                if (gpus.HasConfidentialGpus())
                {
                    return new NvidiaEvidenceProvider(gpus, binding);
                }

                gpus.Dispose();
                return mode == "auto"
                    ? null
                    : throw new AttesterException("nvml", "GPU evidence is required but NVML reports no GPU in confidential-computing mode");
            default:
                throw new ArgumentException($"GPU mode '{mode}' is not one of auto, off, required", nameof(mode));
        }
    }

    public JsonElement Evidence(string nonce, JsonElement teePubKey)
    {
        var gpuNonce = binding.GpuNonce(nonce, teePubKey);
        using var doc = JsonDocument.Parse(Write(gpus.Collect(gpuNonce), gpuNonce));
        return doc.RootElement.Clone();
    }

    /// <summary>Trustee's <c>{"device_evidence_list": […]}</c> form (also the attested-TLS gateway's <c>gpu_evidence</c>).</summary>
    internal static byte[] Write(IReadOnlyList<GpuEvidence> evidence, ReadOnlySpan<byte> gpuNonce)
    {
        var nonceHex = Convert.ToHexStringLower(gpuNonce);
        return KbsJson.Serialize(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("device_evidence_list");
            foreach (var gpu in evidence)
            {
                w.WriteStartObject();
                w.WriteString("arch", gpu.Arch);
                w.WriteString("evidence", Convert.ToBase64String(gpu.Report));
                w.WriteString("certificate", Convert.ToBase64String(gpu.CertChainPem));
                w.WriteString("nonce", nonceHex);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    public void OnKeyReleased() => gpus.SetReady();

    public void Dispose() => gpus.Dispose();
}
