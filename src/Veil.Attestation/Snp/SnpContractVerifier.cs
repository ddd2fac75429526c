using Veil.Abi.Tee;
using Veil.Attestation.Verification;

namespace Veil.Attestation.Snp;

/// <summary>snp: a raw, hex or Trustee JSON report, with an optional certificate table, through <see cref="SnpVerifier"/>.</summary>
internal sealed class SnpContractVerifier(SnpVerifier verifier) : IEvidenceVerifier
{
    public string Tee => TeeNames.Snp;

    public async Task<VerificationResult> VerifyAsync(EvidenceInput input, CancellationToken cancellationToken = default)
    {
        Attachments.Refuse(input, Tee, eventLog: true, deviceCertificates: true);
        var evidence = SnpEvidence.Parse(input.Evidence.Span);
        if (input.CertTable is { } table)
        {
            evidence = evidence.WithCertTable(table.Span);
        }

        var result = await verifier.VerifyAsync(evidence, input.ExpectedReportData, cancellationToken).ConfigureAwait(false);
        return InitDataCheck.Field(result, input.InitDataDigest, "snp.host_data", InitDataFields.SnpHostDataLength);
    }
}
