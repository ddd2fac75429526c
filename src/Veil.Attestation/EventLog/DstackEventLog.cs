using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Veil.Attestation.EventLog;

/// <summary>
/// One entry of dstack's JSON event log (Dstack-TEE/dstack cc-eventlog/src/tdx.rs, <c>TdxEvent</c>). <see cref="Imr"/>
/// is zero-based (0 = RTMR0), unlike the TCG log's register field. <see cref="Digest"/> is the SHA-384 that was
/// extended: as logged for boot-time events, recomputed from name and payload for dstack runtime events.
/// </summary>
public sealed record DstackEvent(int Position, uint Imr, uint EventType, ReadOnlyMemory<byte> Digest, string Name, ReadOnlyMemory<byte> Payload, int Version);

/// <summary>
/// Reads dstack's JSON event log: the array the guest agent's <c>GetQuote</c> returns (as a JSON string in its
/// <c>event_log</c> field, or as the array itself, as <c>/v1/attestation/report</c> of dstack's private-ai-gateway
/// embeds it). Objects with <c>imr</c> (0..3), <c>event_type</c> (u32), <c>digest</c> (hex, 48 bytes; may be empty for
/// runtime events), <c>event</c> (name), <c>event_payload</c> (hex) and optionally <c>version</c> (1 or 2). Unknown
/// members are ignored, as upstream adds some (<c>hash_input</c>); every known one is type- and size-checked. Bounded:
/// at most <see cref="MaxBytes"/> of JSON, <see cref="MaxEvents"/> events, <see cref="MaxPayloadBytes"/> per payload.
/// </summary>
public static class DstackEventLog
{
    /// <summary>dstack's runtime events (RTMR3): not a TCG event type, chosen by dstack (cc-eventlog runtime_events.rs).</summary>
    public const uint RuntimeEventType = 0x08000001;

    public const int MaxBytes = 4 * 1024 * 1024;
    public const int MaxEvents = 4096;
    public const int MaxPayloadBytes = 64 * 1024;
    public const int MaxNameLength = 256;

    /// <summary>
    /// Whether <paramref name="log"/> is JSON rather than a binary CCEL: the first non-blank byte opens an array, an
    /// object or a string. A TCG log starts with the Spec ID event's register field (0x00) and can start with none of these.
    /// </summary>
    public static bool IsJson(ReadOnlySpan<byte> log)
    {
        var t = log.TrimStart(" \t\r\n"u8);
        return t.Length > 0 && t[0] is (byte)'[' or (byte)'{' or (byte)'"';
    }

    /// <summary>
    /// The events of an array, of a JSON string holding the array, or of an object with an <c>event_log</c> member of
    /// either form (a whole GetQuote response).
    /// </summary>
    /// <exception cref="EvidenceFormatException">Not such a log; the field and the reason are named.</exception>
    public static IReadOnlyList<DstackEvent> Parse(ReadOnlySpan<byte> json)
    {
        if (json.Length > MaxBytes)
        {
            throw new EvidenceFormatException("event_log", $"{json.Length} bytes, more than the {MaxBytes} accepted");
        }

        using var doc = Document(json, "event_log");
        return Parse(doc.RootElement, "event_log");
    }

    /// <summary>The events of an already parsed element (array, string holding the array, or object with <c>event_log</c>).</summary>
    public static IReadOnlyList<DstackEvent> Parse(JsonElement element, string field)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                if (!element.TryGetProperty("event_log", out var inner))
                {
                    throw new EvidenceFormatException(field, "an object without event_log (expected dstack's event log array or a GetQuote response)");
                }

                return Parse(inner, field + ".event_log");
            case JsonValueKind.String:
                var text = Encoding.UTF8.GetBytes(element.GetString()!);
                if (text.Length > MaxBytes)
                {
                    throw new EvidenceFormatException(field, $"{text.Length} bytes, more than the {MaxBytes} accepted");
                }

                using (var doc = Document(text, field))
                {
                    return doc.RootElement.ValueKind == JsonValueKind.Array
                        ? Events(doc.RootElement, field)
                        : throw new EvidenceFormatException(field, "a string that does not hold a JSON array");
                }

            case JsonValueKind.Array:
                return Events(element, field);
            default:
                throw new EvidenceFormatException(field, $"expected an array of events, got {element.ValueKind.ToString().ToLowerInvariant()}");
        }
    }

    /// <summary>The log as TCG events (register = imr + 1, one SHA-384 digest), so that the CCEL replay and comparison apply.</summary>
    public static TcgEventLog ToTcg(IReadOnlyList<DstackEvent> events) => new(
        new Dictionary<ushort, int> { [TcgDigest.Sha384] = 48 },
        [.. events.Select(e => new TcgEvent(e.Position, e.Imr + 1, e.EventType, [new TcgDigest(TcgDigest.Sha384, e.Digest)], Data(e)))]);

    /// <summary>Parse, then replay into RTMR0–3 (SHA-384 extend from 48 zero bytes).</summary>
    public static RtmrReplay Replay(ReadOnlySpan<byte> json) => RtmrReplay.Replay(ToTcg(Parse(json)));

    /// <summary>
    /// The digest dstack extends for a runtime event. V1: SHA-384(event_type as u32 LE ‖ ":" ‖ name ‖ ":" ‖ payload).
    /// V2: SHA-384 of the RFC 8785 form of {"event","event_type","payload" (lowercase hex),"version":2}
    /// (runtime_events.rs canonical_event_json_v2; its doc comments elsewhere name other keys, the code is what counts).
    /// </summary>
    public static byte[] RuntimeDigest(string name, ReadOnlySpan<byte> payload, int version)
    {
        if (version == 2)
        {
            var canonical = $"{{\"event\":{JcsString(name)},\"event_type\":{RuntimeEventType.ToString(CultureInfo.InvariantCulture)},\"payload\":\"{Convert.ToHexStringLower(payload)}\",\"version\":2}}";
            return SHA384.HashData(Encoding.UTF8.GetBytes(canonical));
        }

        var nameBytes = Encoding.UTF8.GetBytes(name);
        var input = new byte[4 + 1 + nameBytes.Length + 1 + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(input, RuntimeEventType);
        input[4] = (byte)':';
        nameBytes.CopyTo(input, 5);
        input[5 + nameBytes.Length] = (byte)':';
        payload.CopyTo(input.AsSpan(6 + nameBytes.Length));
        return SHA384.HashData(input);
    }

    private static JsonDocument Document(ReadOnlySpan<byte> json, string field)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 8 });
            return JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException e)
        {
            throw new EvidenceFormatException(field, $"not valid JSON ({e.Message.Split('.')[0]})");
        }
    }

    private static List<DstackEvent> Events(JsonElement array, string field)
    {
        var count = array.GetArrayLength();
        if (count > MaxEvents)
        {
            throw new EvidenceFormatException(field, $"{count} events, more than the {MaxEvents} accepted");
        }

        var events = new List<DstackEvent>(count);
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            events.Add(Event(item, i, $"{field}[{i}]"));
            i++;
        }

        return events;
    }

    private static DstackEvent Event(JsonElement e, int position, string at)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            throw new EvidenceFormatException(at, "expected an object");
        }

        var imr = UInt(e, "imr", at, required: true)!.Value;
        if (imr > 3)
        {
            throw new EvidenceFormatException($"{at}.imr", $"{imr} is not an RTMR index (0 to 3)");
        }

        var type = UInt(e, "event_type", at, required: true)!.Value;
        var name = Text(e, "event", at) ?? "";
        if (name.Length > MaxNameLength)
        {
            throw new EvidenceFormatException($"{at}.event", $"{name.Length} characters, more than the {MaxNameLength} accepted");
        }

        var payload = HexBytes(e, "event_payload", at, MaxPayloadBytes);
        var logged = HexBytes(e, "digest", at, 48);
        var version = UInt(e, "version", at, required: false) ?? 1;
        if (version is not (1 or 2))
        {
            throw new EvidenceFormatException($"{at}.version", $"{version} is not a dstack event log version (1 or 2)");
        }

        if (type == RuntimeEventType)
        {
            if (imr != 3)
            {
                throw new EvidenceFormatException($"{at}.imr", $"a dstack runtime event in RTMR{imr}; dstack extends them into RTMR3 only");
            }

            // The digest is a function of name and payload; a logged one that disagrees means the log was edited.
            var computed = RuntimeDigest(name, payload, (int)version);
            if (logged.Length > 0 && !logged.AsSpan().SequenceEqual(computed))
            {
                throw new EvidenceFormatException($"{at}.digest", $"{Hex.Lower(logged)} is not the digest of event '{name}' and its payload ({Hex.Lower(computed)})");
            }

            return new DstackEvent(position, imr, type, computed, name, payload, (int)version);
        }

        if (logged.Length != 48)
        {
            throw new EvidenceFormatException($"{at}.digest", $"{logged.Length} bytes; a boot-time event needs its 48-byte SHA-384 digest");
        }

        return new DstackEvent(position, imr, type, logged, name, payload, (int)version);
    }

    /// <summary>
    /// For the event's description: "name: payload" (the payload as text when it is printable ASCII, else as hex, since
    /// runtime payloads such as app-id are raw bytes); the payload alone for an unnamed boot-time event.
    /// </summary>
    private static ReadOnlyMemory<byte> Data(DstackEvent e)
    {
        if (e.Name.Length == 0)
        {
            return e.Payload;
        }

        var p = e.Payload.Span;
        var shown = p.IndexOfAnyExceptInRange((byte)0x20, (byte)0x7E) < 0 ? Encoding.ASCII.GetString(p) : Convert.ToHexStringLower(p);
        return Encoding.UTF8.GetBytes($"{e.Name}: {shown}");
    }

    private static uint? UInt(JsonElement e, string name, string at, bool required)
    {
        if (!e.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return required ? throw new EvidenceFormatException($"{at}.{name}", "missing") : null;
        }

        return v.ValueKind == JsonValueKind.Number && v.TryGetUInt32(out var n)
            ? n
            : throw new EvidenceFormatException($"{at}.{name}", $"expected an unsigned 32-bit integer, got {v.GetRawText()[..Math.Min(v.GetRawText().Length, 40)]}");
    }

    private static string? Text(JsonElement e, string name, string at)
    {
        if (!e.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return v.ValueKind == JsonValueKind.String ? v.GetString() : throw new EvidenceFormatException($"{at}.{name}", "expected a string");
    }

    private static byte[] HexBytes(JsonElement e, string name, string at, int max)
    {
        var text = Text(e, name, at);
        if (string.IsNullOrEmpty(text))
        {
            return [];
        }

        if (text.Length > 2 * max)
        {
            throw new EvidenceFormatException($"{at}.{name}", $"{text.Length / 2} bytes, more than the {max} accepted");
        }

        try
        {
            return Convert.FromHexString(text);
        }
        catch (FormatException)
        {
            throw new EvidenceFormatException($"{at}.{name}", "not hex (an even number of 0-9a-f digits)");
        }
    }

    /// <summary>An RFC 8785 string: '"' and '\' escaped, \b \f \n \r \t short, other controls \u00xx, the rest verbatim.</summary>
    private static string JcsString(string s)
    {
        var b = new StringBuilder(s.Length + 2).Append('"');
        foreach (var c in s)
        {
            _ = c switch
            {
                '"' => b.Append("\\\""),
                '\\' => b.Append("\\\\"),
                '\b' => b.Append("\\b"),
                '\f' => b.Append("\\f"),
                '\n' => b.Append("\\n"),
                '\r' => b.Append("\\r"),
                '\t' => b.Append("\\t"),
                < ' ' => b.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"),
                _ => b.Append(c),
            };
        }

        return b.Append('"').ToString();
    }
}
