using System.Text.Json;
using Veil.Protocol.Binding;

namespace Veil.Guest;

/// <summary>
/// What the agent asks its attesters to sign for a challenge. The shipped agent always uses
/// <see cref="KbsEvidenceBinding"/>; the interface is internal so that only tests, which drive recorded hardware
/// vectors whose report data can never match a fresh nonce, substitute it (as the broker's tests do on their side).
/// </summary>
internal interface IEvidenceBinding
{
    /// <summary>CPU REPORT_DATA (64 bytes) binding the nonce, our key and the exact additional_evidence string.</summary>
    byte[] CpuReportData(string nonce, JsonElement teePubKey, string additionalEvidence);

    /// <summary>The SPDM nonce each GPU signs (32 bytes).</summary>
    byte[] GpuNonce(string nonce, JsonElement teePubKey);
}

/// <summary>KBS protocol 0.4.0 (Trustee's guest-components and KBS compute the same).</summary>
internal sealed class KbsEvidenceBinding : IEvidenceBinding
{
    public static KbsEvidenceBinding Instance { get; } = new();

    public byte[] CpuReportData(string nonce, JsonElement teePubKey, string additionalEvidence) =>
        ReportDataBinding.CpuReportData(nonce, teePubKey, additionalEvidence);

    public byte[] GpuNonce(string nonce, JsonElement teePubKey) => ReportDataBinding.GpuNonce(nonce, teePubKey);
}
