using System.Text.Json;
using Veil.Attestation;
using Veil.Attestation.Snp;

namespace Veil.Broker.Verification;

/// <summary>
/// tee "snp": Trustee's SNP evidence JSON (<c>{attestation_report, cert_chain}</c>) verified by
/// Veil.Attestation's <see cref="SnpVerifier"/> against AMD's pinned roots, with the evidence's own VCEK/VLEK.
/// </summary>
internal sealed class SnpEvidenceVerifier(SnpVerifier verifier) : IEvidenceVerifier
{
    public string Tee => TeeNames.Snp;

    public Task<VerificationResult> VerifyAsync(JsonElement evidence, ReadOnlyMemory<byte> expectedReportData, CancellationToken ct)
    {
        if (evidence.ValueKind != JsonValueKind.Object)
        {
            throw new EvidenceFormatException("snp evidence: expected a JSON object {attestation_report, cert_chain}");
        }

        // The element's own UTF-8 bytes, without re-encoding the (10 KB) evidence through a string.
        return verifier.VerifyAsync(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(evidence).ToArray(), expectedReportData, ct);
    }
}
