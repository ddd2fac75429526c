using System.Text.Json;
using Veil.Attestation.EventLog;

namespace Veil.Attestation.Dstack;

/// <summary>
/// The guest agent's <c>GetQuote</c> answer (Dstack-TEE/dstack sdk/curl/api.md "Get Quote"; the fixture
/// dstack/verifier/fixtures/tdx-lite-getquote.json): <c>quote</c> (hex TDX quote), <c>event_log</c> (a JSON string
/// holding the event array), <c>report_data</c> (hex, the caller's up to 64 bytes, zero-padded), <c>vm_config</c>
/// (ignored here: it describes the VM for image checks Veil does not do).
/// </summary>
public sealed record DstackQuoteResponse(byte[] Quote, IReadOnlyList<DstackEvent> Events, byte[]? ReportData)
{
    public static DstackQuoteResponse Parse(ReadOnlySpan<byte> json)
    {
        using var doc = DstackJson.Document(json, "getquote");
        var root = DstackJson.Object(doc.RootElement, "getquote");
        return new DstackQuoteResponse(
            DstackJson.Hex(root, "quote", "getquote", required: true)!,
            DstackEventLog.Parse(DstackJson.Required(root, "event_log", "getquote"), "getquote.event_log"),
            DstackJson.Hex(root, "report_data", "getquote", required: false));
    }

    /// <summary>Whether the JSON is an object with a <c>quote</c> member (a GetQuote answer rather than a bare log).</summary>
    public static bool HasQuote(ReadOnlySpan<byte> json)
    {
        try
        {
            using var doc = DstackJson.Document(json, "event_log");
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("quote", out _);
        }
        catch (EvidenceFormatException)
        {
            return false;
        }
    }
}

/// <summary>
/// The attestation report of dstack's OpenAI-compatible gateways (Dstack-TEE/private-ai-gateway, <c>GET
/// /v1/attestation/report?nonce=&lt;64 hex&gt;</c>): <c>signing_address</c> (hex: a 20-byte Ethereum address for ecdsa,
/// a 32-byte key for ed25519), <c>signing_algo</c>, <c>request_nonce</c> (the 32-byte nonce, hex), <c>intel_quote</c>
/// (hex), <c>event_log</c> (the event array, or a string holding it), <c>nvidia_payload</c> (a JSON string: <c>nonce</c>,
/// <c>evidence_list</c>, <c>arch</c>, NVIDIA's remote-verifier request), <c>info</c> (ignored). The TD's report data is
/// <c>signing_address</c> zero-padded to 32 bytes ‖ the nonce (its <c>build_report_data</c>).
/// </summary>
public sealed record DstackReport(byte[] SigningAddress, string? SigningAlgo, byte[] RequestNonce, byte[] Quote, IReadOnlyList<DstackEvent> Events, byte[]? NvidiaPayload)
{
    public const int MaxBytes = 8 * 1024 * 1024;
    public const int NonceBytes = 32;

    public static DstackReport Parse(ReadOnlySpan<byte> json)
    {
        if (json.Length > MaxBytes)
        {
            throw new EvidenceFormatException("report", $"{json.Length} bytes, more than the {MaxBytes} accepted");
        }

        using var doc = DstackJson.Document(json, "report");
        var root = DstackJson.Object(doc.RootElement, "report");
        var address = DstackJson.Hex(root, "signing_address", "report", required: true)!;
        if (address.Length is 0 or > 32)
        {
            throw new EvidenceFormatException("report.signing_address", $"{address.Length} bytes; expected 1 to 32 (an address or a public key fills the first half of the report data)");
        }

        var nonce = DstackJson.Hex(root, "request_nonce", "report", required: true)!;
        if (nonce.Length != NonceBytes)
        {
            throw new EvidenceFormatException("report.request_nonce", $"{nonce.Length} bytes; expected {NonceBytes}");
        }

        byte[]? nvidia = null;
        if (root.TryGetProperty("nvidia_payload", out var gpu) && gpu.ValueKind != JsonValueKind.Null)
        {
            nvidia = gpu.ValueKind switch
            {
                JsonValueKind.String => System.Text.Encoding.UTF8.GetBytes(gpu.GetString()!),
                JsonValueKind.Object => System.Text.Encoding.UTF8.GetBytes(gpu.GetRawText()),
                _ => throw new EvidenceFormatException("report.nvidia_payload", "expected a JSON string or object"),
            };
        }

        return new DstackReport(
            address,
            root.TryGetProperty("signing_algo", out var algo) && algo.ValueKind == JsonValueKind.String ? algo.GetString() : null,
            nonce,
            DstackJson.Hex(root, "intel_quote", "report", required: true)!,
            DstackEventLog.Parse(DstackJson.Required(root, "event_log", "report"), "report.event_log"),
            nvidia);
    }

    /// <summary>What the quote's report data must be: the signing address zero-padded to 32 bytes, then the nonce.</summary>
    public static byte[] ExpectedReportData(ReadOnlySpan<byte> signingAddress, ReadOnlySpan<byte> nonce)
    {
        if (signingAddress.Length > 32 || nonce.Length != NonceBytes)
        {
            throw new ArgumentException("a signing address of at most 32 bytes and a 32-byte nonce are needed");
        }

        var data = new byte[64];
        signingAddress.CopyTo(data);
        nonce.CopyTo(data.AsSpan(32));
        return data;
    }

    public byte[] ExpectedReportData() => ExpectedReportData(SigningAddress, RequestNonce);
}

/// <summary>Typed access to dstack's JSON answers; every failure names the field.</summary>
internal static class DstackJson
{
    public static JsonDocument Document(ReadOnlySpan<byte> json, string field)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 16 });
            return JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException e)
        {
            throw new EvidenceFormatException(field, $"not valid JSON ({e.Message.Split('.')[0]})");
        }
    }

    public static JsonElement Object(JsonElement e, string field) =>
        e.ValueKind == JsonValueKind.Object ? e : throw new EvidenceFormatException(field, "expected a JSON object");

    public static JsonElement Required(JsonElement parent, string name, string field) =>
        parent.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : throw new EvidenceFormatException($"{field}.{name}", "missing");

    /// <summary>Hex text, with or without 0x.</summary>
    public static byte[]? Hex(JsonElement parent, string name, string field, bool required)
    {
        if (!parent.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return required ? throw new EvidenceFormatException($"{field}.{name}", "missing") : null;
        }

        if (v.ValueKind != JsonValueKind.String)
        {
            throw new EvidenceFormatException($"{field}.{name}", "expected a hex string");
        }

        var text = v.GetString()!;
        try
        {
            return Convert.FromHexString(text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text.AsSpan(2) : text);
        }
        catch (FormatException)
        {
            throw new EvidenceFormatException($"{field}.{name}", "not hex (an even number of 0-9a-f digits)");
        }
    }
}
