using System.Text.Json;
using Veil.Attestation;
using Veil.Attestation.EventLog;
using Veil.Attestation.Tdx;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Broker.Verification;

/// <summary>
/// tee "tdx": Trustee's TDX evidence JSON (<c>{"quote": base64, "cc_eventlog": base64?}</c>) verified by
/// Veil.Attestation's <see cref="TdxVerifier"/> with the broker's Intel collateral; the CCEL event log, when sent,
/// is replayed and must reproduce RTMR0–3.
/// </summary>
internal sealed class TdxEvidenceVerifier(TdxVerifier verifier) : IEvidenceVerifier
{
    public string Tee => TeeNames.Tdx;

    public Task<VerificationResult> VerifyAsync(JsonElement evidence, ReadOnlyMemory<byte> expectedReportData, CancellationToken ct)
    {
        if (evidence.ValueKind != JsonValueKind.Object)
        {
            throw new EvidenceFormatException("tdx evidence", "expected a JSON object {quote, cc_eventlog}");
        }

        var quote = Base64Field(evidence, "quote") ?? throw new EvidenceFormatException("tdx evidence.quote", "missing");
        var log = Base64Field(evidence, "cc_eventlog");
        var replay = log is null ? null : RtmrReplay.Parse(log);
        return verifier.VerifyAsync(quote, expectedReportData, replay, ct);
    }

    private static byte[]? Base64Field(JsonElement evidence, string name)
    {
        if (!evidence.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw new EvidenceFormatException($"tdx evidence.{name}", "not a string");
        }

        // The value's UTF-8 bytes as they are in the body (base64 needs no JSON escape), decoded in one pass.
        var raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(value);
        var decoded = raw.IndexOf((byte)'\\') < 0
            ? EvidenceText.DecodeBase64OrNull(raw[1..^1])
            : EvidenceText.DecodeBase64OrNull(System.Text.Encoding.UTF8.GetBytes(value.GetString()!));
        return decoded ?? throw new EvidenceFormatException($"tdx evidence.{name}", "not base64");
    }
}
