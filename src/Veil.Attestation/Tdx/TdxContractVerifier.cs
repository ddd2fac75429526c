using System.Runtime.InteropServices;
using System.Text.Json;
using Veil.Abi.Tee;
using Veil.Attestation.EventLog;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Verification;

namespace Veil.Attestation.Tdx;

/// <summary>tdx: a quote (binary, hex, base64) or Trustee's <c>{quote, cc_eventlog}</c>, through <see cref="TdxVerifier"/>.</summary>
internal sealed class TdxContractVerifier(TdxVerifier verifier) : IEvidenceVerifier
{
    public string Tee => TeeNames.Tdx;

    public async Task<VerificationResult> VerifyAsync(EvidenceInput input, CancellationToken cancellationToken = default)
    {
        Attachments.Refuse(input, Tee, certTable: true, deviceCertificates: true);
        TdxQuote quote;
        ReadOnlyMemory<byte>? log = input.EventLog;
        if (TrusteeTdxJson.Looks(input.Evidence.Span))
        {
            var (q, l) = TrusteeTdxJson.Read(input.Evidence);
            if (l is not null && log is not null)
            {
                throw new EvidenceFormatException("tdx evidence.cc_eventlog", "the evidence carries an event log and another was given beside it");
            }

            quote = TdxQuote.Parse(q);
            // Not 'log ??= l': a null array converts to an empty (non-null) ReadOnlyMemory, which would replay as a log.
            if (l is not null)
            {
                log = l;
            }
        }
        else
        {
            quote = TdxQuoteInput.Parse(input.Evidence.Span);
        }

        var replay = log is { } bytes ? RtmrReplay.Parse(bytes.Span) : null;
        var result = await verifier.VerifyAsync(quote, input.ExpectedReportData, replay, cancellationToken).ConfigureAwait(false);
        return InitDataCheck.Field(result, input.InitDataDigest, "tdx.mr_config_id", InitDataFields.TdxMrConfigIdLength);
    }
}

/// <summary>Trustee's TDX evidence JSON: <c>{"quote": base64, "cc_eventlog": base64?}</c>, read without copying the text.</summary>
internal static class TrusteeTdxJson
{
    public static bool Looks(ReadOnlySpan<byte> evidence)
    {
        var t = evidence.TrimStart(" \t\r\n"u8);
        return t.Length > 0 && t[0] == (byte)'{';
    }

    public static (byte[] Quote, byte[]? EventLog) Read(ReadOnlyMemory<byte> evidence)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(evidence);
        }
        catch (JsonException)
        {
            throw new EvidenceFormatException("tdx evidence", "not valid JSON");
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new EvidenceFormatException("tdx evidence", "expected a JSON object {quote, cc_eventlog}");
            }

            var quote = Base64Field(doc.RootElement, "quote") ?? throw new EvidenceFormatException("tdx evidence.quote", "missing");
            return (quote, Base64Field(doc.RootElement, "cc_eventlog"));
        }
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

        // The value's UTF-8 bytes as they are in the document (base64 needs no JSON escape), decoded in one pass.
        var raw = JsonMarshal.GetRawUtf8Value(value);
        var decoded = raw.IndexOf((byte)'\\') < 0
            ? EvidenceText.DecodeBase64OrNull(raw[1..^1])
            : EvidenceText.DecodeBase64OrNull(System.Text.Encoding.UTF8.GetBytes(value.GetString()!));
        return decoded ?? throw new EvidenceFormatException($"tdx evidence.{name}", "not base64");
    }
}
