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

        return verifier.VerifyAsync(System.Text.Encoding.UTF8.GetBytes(evidence.GetRawText()), expectedReportData, ct);
    }
}
