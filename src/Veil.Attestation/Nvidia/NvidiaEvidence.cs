using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace Veil.Attestation.Nvidia;

/// <summary>One device's report with the certificate chain (leaf first) and what the attester said about it.</summary>
/// <param name="Arch">The attester's <c>arch</c> ("HOPPER", "BLACKWELL", "LS10"); unsigned, compared with the chain.</param>
/// <param name="Nonce">The attester's <c>nonce</c> field; unsigned, compared with the report's request nonce.</param>
public sealed record NvidiaDeviceEvidence(
    SpdmMeasurementReport Report,
    IReadOnlyList<X509Certificate2> Certificates,
    string? Arch,
    ReadOnlyMemory<byte>? Nonce);

/// <summary>A list of GPUs and NVSwitches verified as one set.</summary>
public sealed record NvidiaEvidence(IReadOnlyList<NvidiaDeviceEvidence> Devices)
{
    /// <summary>
    /// Accepts the raw report bytes (never trimmed: a real report may end in 0x0A), the same as hex or base64
    /// text, or JSON as NVIDIA's SDKs and Trustee serialise it: a list of <c>{arch, certificate, evidence,
    /// nonce, …}</c> (certificate = base64 of the PEM chain, evidence = base64 or hex of the report), or an object
    /// holding such a list under <c>evidence_list</c> / <c>device_evidence_list</c>, or one such object.
    /// <paramref name="chain"/> is used for devices that came without a certificate (raw, hex, base64).
    /// </summary>
    public static NvidiaEvidence Parse(ReadOnlySpan<byte> input, IReadOnlyList<X509Certificate2>? chain = null) => Parse(input, null, chain);

    /// <summary>As the span overload; JSON in an array is read in place rather than copied first (a file as read).</summary>
    public static NvidiaEvidence Parse(byte[] input, IReadOnlyList<X509Certificate2>? chain = null) => Parse(input, input, chain);

    private static NvidiaEvidence Parse(ReadOnlySpan<byte> input, ReadOnlyMemory<byte>? memory, IReadOnlyList<X509Certificate2>? chain)
    {
        if (input.IsEmpty)
        {
            throw new EvidenceFormatException("evidence", "empty input");
        }

        if (input.Length >= 2 && input[0] == 0x11 && input[1] == 0xE0)
        {
            return Single(SpdmMeasurementReport.Parse(input), chain);
        }

        var text = input.Trim(" \t\r\n"u8);
        if (!text.IsEmpty && text[0] is (byte)'{' or (byte)'[')
        {
            var start = input.Length - input.TrimStart(" \t\r\n"u8).Length;
            // JsonDocument needs memory: the caller's array in place, else one copy of the span.
            return ParseJson(memory is { } m ? m.Slice(start, text.Length) : text.ToArray(), chain);
        }

        if (!EvidenceText.IsText(input))
        {
            throw new EvidenceFormatException("evidence",
                $"not GPU evidence: {input.Length} bytes of binary data that do not start with an SPDM GET_MEASUREMENTS request (0x11 0xE0)");
        }

        if (!EvidenceText.TryDecode(text, "evidence", out var buffer, out var length, out _))
        {
            throw new EvidenceFormatException("evidence",
                $"not GPU evidence: {input.Length} bytes of text, neither hex nor base64 of an SPDM report nor an evidence JSON list");
        }

        return Single(SpdmMeasurementReport.ParseOwned(buffer, length), chain);
    }

    private static NvidiaEvidence Single(SpdmMeasurementReport report, IReadOnlyList<X509Certificate2>? chain) =>
        new([new NvidiaDeviceEvidence(report, chain ?? [], null, null)]);

    /// <summary>
    /// Hex (as nvtrust's sample files) or base64 (as the JSON lists) text of binary data, decoded in one pass
    /// (<see cref="EvidenceText"/>); the buffer may be longer than the <c>Length</c> decoded bytes.
    /// </summary>
    internal static (byte[] Buffer, int Length) DecodeText(ReadOnlySpan<byte> text, string field)
    {
        text = text.Trim(" \t\r\n"u8);
        if (text.IsEmpty)
        {
            throw new EvidenceFormatException(field, "empty");
        }

        return EvidenceText.TryDecode(text, field, out var buffer, out var length, out _)
            ? (buffer, length)
            : throw new EvidenceFormatException(field, "neither a raw SPDM report, hex text nor base64 text");
    }

    private static NvidiaEvidence ParseJson(ReadOnlyMemory<byte> json, IReadOnlyList<X509Certificate2>? chain)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new EvidenceFormatException("evidence", "invalid JSON: " + e.Message, e);
        }

        using (doc)
        {
            var root = doc.RootElement;
            JsonElement list;
            string? defaultArch = null;
            ReadOnlyMemory<byte>? defaultNonce = null;
            if (root.ValueKind == JsonValueKind.Array)
            {
                list = root;
            }
            else if (TryList(root, out list))
            {
                defaultArch = OptionalString(root, "arch", "evidence");
                defaultNonce = OptionalString(root, "nonce", "evidence") is { } n ? (ReadOnlyMemory<byte>?)Hex.Parse(n, "evidence.nonce") : null;
            }
            else
            {
                return new NvidiaEvidence([Device(root, "evidence", chain, null, null)]);
            }

            var devices = new List<NvidiaDeviceEvidence>();
            var i = 0;
            foreach (var item in list.EnumerateArray())
            {
                devices.Add(Device(item, $"evidence[{i++}]", chain, defaultArch, defaultNonce));
            }

            return devices.Count > 0 ? new NvidiaEvidence(devices) : throw new EvidenceFormatException("evidence", "the evidence list is empty");
        }
    }

    private static bool TryList(JsonElement root, out JsonElement list)
    {
        foreach (var name in new[] { "evidence_list", "device_evidence_list" })
        {
            if (root.TryGetProperty(name, out list))
            {
                return list.ValueKind == JsonValueKind.Array ? true : throw new EvidenceFormatException("evidence." + name, "not a list");
            }
        }

        list = default;
        return false;
    }

    private static NvidiaDeviceEvidence Device(JsonElement item, string field, IReadOnlyList<X509Certificate2>? chain, string? arch, ReadOnlyMemory<byte>? nonce)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            throw new EvidenceFormatException(field, "not a JSON object");
        }

        var report = WithUtf8(item, "evidence", field, text =>
        {
            var (bytes, length) = DecodeText(text, field + ".evidence");
            return SpdmMeasurementReport.ParseOwned(bytes, length);
        }) ?? throw new EvidenceFormatException(field + ".evidence", "missing");
        var certs = WithUtf8(item, "certificate", field, text =>
        {
            if (text.IndexOf("-----BEGIN"u8) >= 0)
            {
                return Veil.Attestation.Certificates.Load(text, field + ".certificate");
            }

            var (bytes, length) = DecodeText(text, field + ".certificate");
            return Veil.Attestation.Certificates.Load(bytes.AsSpan(0, length), field + ".certificate");
        }) ?? chain ?? [];

        var itemNonce = OptionalString(item, "nonce", field) is { } n ? (ReadOnlyMemory<byte>?)Hex.Parse(n, field + ".nonce") : nonce;
        return new NvidiaDeviceEvidence(report, certs, OptionalString(item, "arch", field) ?? arch, itemNonce);
    }

    private delegate T Utf8Reader<out T>(ReadOnlySpan<byte> utf8);

    /// <summary>
    /// Reads a string member from its UTF-8 bytes: a view of the document when it holds no escape (base64 and hex
    /// never need one), else the unescaped value; never a UTF-16 string of a field that may be megabytes long.
    /// </summary>
    private static T? WithUtf8<T>(JsonElement obj, string name, string field, Utf8Reader<T> read)
        where T : class
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw new EvidenceFormatException($"{field}.{name}", $"expected a string, found {value.ValueKind}");
        }

        var raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(value);
        if (raw.Length >= 2 && raw[0] == '"' && raw[^1] == '"' && raw.IndexOf((byte)'\\') < 0)
        {
            return read(raw[1..^1]);
        }

        return read(Encoding.UTF8.GetBytes(OptionalString(obj, name, field)!));
    }

    private static string? OptionalString(JsonElement obj, string name, string field)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw new EvidenceFormatException($"{field}.{name}", $"expected a string, found {value.ValueKind}");
        }

        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException e)
        {
            throw new EvidenceFormatException($"{field}.{name}", "not valid UTF-8 text", e);
        }
    }
}
