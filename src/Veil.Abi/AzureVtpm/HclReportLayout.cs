using Veil.Abi.Snp;

namespace Veil.Abi.AzureVtpm;

/// <summary>
/// The report Azure's paravisor (HCL) leaves in the vTPM (layout as az-cvm-vtpm's hcl module reads it; integers
/// little-endian): header, hardware report, IGVM request data, variable data. The guest agent reads the variable data
/// out of the NV index with it and the verifier parses the whole report with it.
/// </summary>
public static class HclReportLayout
{
    /// <summary>NV index holding the HCL report, NV index for the user data the HCL binds into the next report, and
    /// the persistent handle of the attestation key (Azure's fixed values).</summary>
    public const uint ReportNvIndex = 0x01400001;

    public const uint UserDataNvIndex = 0x01400002;

    public const uint AttestationKeyHandle = 0x81000003;

    public const int HeaderLength = 32;

    /// <summary>The hardware report's slot: an SNP report fills it, a TDREPORT (1024 bytes) is padded.</summary>
    public const int HardwareReportLength = SnpReportLayout.Length;

    public const int TdReportLength = 1024;

    public const int RequestDataOffset = HeaderLength + HardwareReportLength;

    public const int RequestDataHeaderLength = 20;

    /// <summary>0x4D4: the runtime claims JSON (AK and EK as JWKs, vm-configuration, user-data).</summary>
    public const int VariableDataOffset = RequestDataOffset + RequestDataHeaderLength;

    /// <summary>"HCLA" as a little-endian UINT32.</summary>
    public const uint Signature = 0x414c4348;

    /// <summary>The HCL's IGVM_REQUEST_TYPE for an attestation report (the only one a guest reads).</summary>
    public const uint RequestTypeAttestation = 2;
}
