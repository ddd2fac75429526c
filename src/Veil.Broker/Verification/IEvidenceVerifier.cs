using System.Text.Json;
using Veil.Attestation;

namespace Veil.Broker.Verification;

/// <summary>
/// Verifies one TEE's evidence (the JSON the KBS protocol carries for it) against the report data the broker
/// expects. Bad evidence is a result with failures or an <see cref="EvidenceFormatException"/>, never a pass.
/// </summary>
internal interface IEvidenceVerifier
{
    string Tee { get; }

    Task<VerificationResult> VerifyAsync(JsonElement evidence, ReadOnlyMemory<byte> expectedReportData, CancellationToken ct);
}
