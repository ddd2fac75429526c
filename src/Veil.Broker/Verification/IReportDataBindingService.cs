using Veil.Abi.Tee;
using Veil.Protocol.Binding;
using Veil.Protocol.Messages;

namespace Veil.Broker.Verification;

/// <summary>
/// The report data a TEE's evidence must carry for this attestation. The broker always uses
/// <see cref="KbsReportDataBinding"/>; tests and the benchmark host may substitute another implementation
/// in code (to accept a recorded vector's fixed report data). No CLI option or config key can.
/// </summary>
internal interface IReportDataBindingService
{
    ReadOnlyMemory<byte> ExpectedReportData(string tee, RuntimeData runtimeData, string additionalEvidence);

    /// <summary>The nonce each device of an additional-evidence entry (e.g. every NVIDIA GPU) must carry.</summary>
    ReadOnlyMemory<byte> ExpectedDeviceNonce(string tee, RuntimeData runtimeData);
}

/// <summary>KBS protocol 0.4.0 binding: SHA-384 over JCS({additional-evidence, nonce, tee-pubkey}).</summary>
internal sealed class KbsReportDataBinding : IReportDataBindingService
{
    public ReadOnlyMemory<byte> ExpectedReportData(string tee, RuntimeData runtimeData, string additionalEvidence) => tee switch
    {
        // The sample verifier and a vTPM quote's extraData take the bare 48-byte digest; hardware report-data fields are 64 bytes, zero-padded.
        TeeNames.Sample or TeeNames.AzSnpVtpm or TeeNames.AzTdxVtpm => ReportDataBinding.PrimaryDigest(runtimeData.Nonce, runtimeData.TeePubKey, additionalEvidence),
        _ => ReportDataBinding.CpuReportData(runtimeData.Nonce, runtimeData.TeePubKey, additionalEvidence),
    };

    /// <summary>GPUs: the first 32 bytes of SHA-384(JCS({nonce, tee-pubkey})), as the SPDM request nonce.</summary>
    public ReadOnlyMemory<byte> ExpectedDeviceNonce(string tee, RuntimeData runtimeData) =>
        ReportDataBinding.GpuNonce(runtimeData.Nonce, runtimeData.TeePubKey);
}
