using System.Globalization;
using System.Text.Json;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.Tdx.IntelCollateral;

/// <summary>Reads fields of Intel's collateral JSON with errors that name the field's path.</summary>
internal static class JsonFields
{
    private static readonly string[] IsoFormats = ["yyyy-MM-dd'T'HH:mm:ss'Z'", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'"];

    public static JsonDocument Parse(ReadOnlyMemory<byte> json, string field)
    {
        try
        {
            return JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new EvidenceFormatException(field, "not valid JSON: " + e.Message, e);
        }
    }

    public static JsonElement Object(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.Object ? e : throw new EvidenceFormatException(path, $"expected an object, found {Kind(e)}");

    public static JsonElement Get(JsonElement obj, string name, string path) =>
        Object(obj, path).TryGetProperty(name, out var v) ? v : throw new EvidenceFormatException($"{path}.{name}", "missing");

    public static JsonElement? Optional(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public static string String(JsonElement obj, string name, string path)
    {
        var v = Get(obj, name, path);
        return v.ValueKind == JsonValueKind.String ? Text(v, $"{path}.{name}") : throw new EvidenceFormatException($"{path}.{name}", $"expected a string, found {Kind(v)}");
    }

    /// <summary>A string value; invalid UTF-8 inside it is a named error (GetString throws InvalidOperationException).</summary>
    public static string Text(JsonElement v, string field)
    {
        try
        {
            return v.GetString()!;
        }
        catch (InvalidOperationException e)
        {
            throw new EvidenceFormatException(field, "not valid UTF-8 text", e);
        }
    }

    public static long Integer(JsonElement obj, string name, string path, long max = int.MaxValue)
    {
        var v = Get(obj, name, path);
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) && n >= 0 && n <= max
            ? n
            : throw new EvidenceFormatException($"{path}.{name}", $"expected an integer 0..{max}, found {Raw(v)}");
    }

    public static byte[] HexBytes(JsonElement obj, string name, string path, int length)
    {
        var bytes = Hex.Parse(String(obj, name, path), $"{path}.{name}");
        return bytes.Length == length ? bytes : throw new EvidenceFormatException($"{path}.{name}", $"{bytes.Length} bytes, expected {length}");
    }

    public static DateTimeOffset Date(JsonElement obj, string name, string path)
    {
        var s = String(obj, name, path);
        // Intel writes UTC times as 2025-06-19T10:16:03Z; nothing looser is accepted.
        return DateTimeOffset.TryParseExact(s, IsoFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)
            ? t
            : throw new EvidenceFormatException($"{path}.{name}", $"'{s}' is not an ISO-8601 UTC time");
    }

    public static IReadOnlyList<JsonElement> Array(JsonElement obj, string name, string path)
    {
        var v = Get(obj, name, path);
        return v.ValueKind == JsonValueKind.Array ? [.. v.EnumerateArray()] : throw new EvidenceFormatException($"{path}.{name}", $"expected an array, found {Kind(v)}");
    }

    public static IReadOnlyList<string> Strings(JsonElement obj, string name, string path)
    {
        if (Optional(obj, name) is not { } v)
        {
            return [];
        }

        if (v.ValueKind != JsonValueKind.Array)
        {
            throw new EvidenceFormatException($"{path}.{name}", $"expected an array, found {Kind(v)}");
        }

        var list = new List<string>();
        foreach (var item in v.EnumerateArray())
        {
            list.Add(item.ValueKind == JsonValueKind.String ? Text(item, $"{path}.{name}[{list.Count}]") : throw new EvidenceFormatException($"{path}.{name}[{list.Count}]", "expected a string"));
        }

        return list;
    }

    private static string Kind(JsonElement e) => e.ValueKind.ToString().ToLowerInvariant();

    private static string Raw(JsonElement e)
    {
        var text = e.GetRawText();
        return text.Length > 40 ? text[..40] + "…" : text;
    }
}
