using Veil.Attestation.Nvidia;
using Veil.Attestation.Nvidia.Rim;
using static Veil.Attestation.Tests.Nvidia.NvidiaVectorCases;

namespace Veil.Attestation.Tests.Nvidia;

/// <summary>Seeds and targets of the NVIDIA parser fuzzers (the tests run them for seconds, bench/gpu-fuzz for longer).</summary>
internal static class NvidiaFuzz
{
    public static IReadOnlyList<byte[]> Seeds()
    {
        var raw = NvidiaEvidence.Parse(File.ReadAllBytes(HistoryReport)).Devices[0].Report.Raw.ToArray();
        return
        [
            raw,
            File.ReadAllBytes(SampleReport),
            File.ReadAllBytes(Gpu("blackwellAttestationReport.txt")),
            File.ReadAllBytes(Sdk("switchAttestationReport.txt")),
            File.ReadAllBytes(SdkCommon("hopper_evidence.json")),
        ];
    }

    /// <summary>Everything that reads untrusted NVIDIA evidence bytes: reports, JSON lists, certificates, claims.</summary>
    public static void Target(byte[] input)
    {
        var evidence = NvidiaEvidence.Parse(input);
        foreach (var d in evidence.Devices)
        {
            _ = NvidiaClaims.PpcieMode(d.Report.OpaqueData);
            if (d.Certificates.Count > 0)
            {
                _ = NvidiaDeviceCertificate.From(d.Certificates);
            }
        }
    }

    public static void RimTarget(byte[] input)
    {
        var rim = RimDocument.Parse(input, "rim");
        _ = RimSignature.Check(rim);
    }

    /// <summary>CoRIM bytes: the CBOR reader, the CoRIM and COSE structure, the NVIDIA profile, the COSE signature.</summary>
    public static void CorimTarget(byte[] input)
    {
        var rim = RimDocument.Parse(input, "corim");
        _ = RimCheck.Signature(rim);
    }
}
