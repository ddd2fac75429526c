using Veil.Abi.Tee;
using Veil.Attestation.Verification;

namespace Veil.Attestation.Nvidia;

/// <summary>
/// nvidia: an SPDM report or an evidence list, through <see cref="NvidiaVerifier"/>. The result is the set's combined
/// verdict with each device's own result in <see cref="VerificationResult.Parts"/>.
/// </summary>
internal sealed class NvidiaContractVerifier(NvidiaVerifier verifier) : IEvidenceVerifier
{
    public string Tee => TeeNames.Nvidia;

    public async Task<VerificationResult> VerifyAsync(EvidenceInput input, CancellationToken cancellationToken = default)
    {
        Attachments.Refuse(input, Tee, certTable: true, eventLog: true);
        if (input.InitDataDigest is not null)
        {
            throw new EvidenceFormatException("init-data digest", "GPU evidence carries no init-data; bind it to the CPU evidence");
        }

        var evidence = NvidiaEvidence.Parse(input.Evidence.Span, input.DeviceCertificates);
        var set = await verifier.VerifyAsync(evidence, input.ExpectedReportData, cancellationToken).ConfigureAwait(false);
        return new VerificationResult(set.Combined.Tee, set.Combined.Claims, set.Combined.Failures, set.Devices);
    }
}
