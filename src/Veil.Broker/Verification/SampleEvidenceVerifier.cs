using System.Text.Json;
using Veil.Attestation;
using Veil.Attestation.Sample;

namespace Veil.Broker.Verification;

/// <summary>
/// The KBS <c>sample</c> TEE through <see cref="SampleVerifier"/>. Only reachable when the broker runs with
/// --allow-sample, and the resource policy still refuses sample tokens unless that flag is set.
/// </summary>
internal sealed class SampleEvidenceVerifier : IEvidenceVerifier
{
    public string Tee => TeeNames.Sample;

    public Task<VerificationResult> VerifyAsync(JsonElement evidence, ReadOnlyMemory<byte> expectedReportData, CancellationToken ct) =>
        Task.FromResult(SampleVerifier.Verify(evidence, expectedReportData.Span));
}
