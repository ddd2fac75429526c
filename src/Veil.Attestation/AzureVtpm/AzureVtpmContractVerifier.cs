using Veil.Attestation.Verification;

namespace Veil.Attestation.AzureVtpm;

/// <summary>az-snp-vtpm and az-tdx-vtpm: the attestation-agent JSON; init-data goes to PCR 8 inside the Azure verifiers.</summary>
internal sealed class AzureVtpmContractVerifier(string tee, Func<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>?, ReadOnlyMemory<byte>?, CancellationToken, Task<VerificationResult>> verify) : IEvidenceVerifier
{
    public string Tee => tee;

    public Task<VerificationResult> VerifyAsync(EvidenceInput input, CancellationToken cancellationToken = default)
    {
        Attachments.Refuse(input, Tee, certTable: true, eventLog: true, deviceCertificates: true);
        if (input.InitDataDigest is { Length: not 32 } d)
        {
            throw new EvidenceFormatException("init-data digest", $"{d.Length} bytes: PCR 8 of the SHA-256 bank binds only a sha256 init-data digest (32 bytes)");
        }

        return verify(input.Evidence, input.ExpectedReportData, input.InitDataDigest, cancellationToken);
    }
}
