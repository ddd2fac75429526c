using System.Text.Json;
using Veil.Abi.Tee;
using Veil.Attestation.Verification;

namespace Veil.Attestation.Sample;

/// <summary>sample: its JSON; report data is always checked (an absent expectation is the empty one, which fails).</summary>
internal sealed class SampleContractVerifier : IEvidenceVerifier
{
    public string Tee => TeeNames.Sample;

    public Task<VerificationResult> VerifyAsync(EvidenceInput input, CancellationToken cancellationToken = default)
    {
        Attachments.Refuse(input, Tee, certTable: true, eventLog: true, deviceCertificates: true);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(input.Evidence);
        }
        catch (JsonException)
        {
            throw new EvidenceFormatException("sample evidence", "not JSON");
        }

        using (doc)
        {
            // Init-data is taken as given for sample (it has nothing to bind it to); only tests and the quickstart allow it.
            return Task.FromResult(SampleVerifier.Verify(doc.RootElement, (input.ExpectedReportData ?? ReadOnlyMemory<byte>.Empty).Span));
        }
    }
}
