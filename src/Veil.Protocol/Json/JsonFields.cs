using System.Text.Json;

namespace Veil.Protocol.Json;

/// <summary>Field readers that fail with the field's path and the reason, never with a serializer trace.</summary>
internal static class JsonFields
{
    public const int MaxMessageBytes = 2 * 1024 * 1024;

    public static JsonDocument ParseDocument(ReadOnlyMemory<byte> utf8, string what)
    {
        if (utf8.Length > MaxMessageBytes)
        {
            throw new ProtocolFormatException(what, $"message of {utf8.Length} bytes exceeds the limit of {MaxMessageBytes}");
        }

        // JsonDocument checks UTF-8 inside strings only when a value is read (InvalidOperationException then), and
        // takes the last of duplicate keys where other JSON readers may take the first: both are refused here, by name.
        if (!System.Text.Unicode.Utf8.IsValid(utf8.Span))
        {
            throw new ProtocolFormatException(what, "not valid UTF-8");
        }

        try
        {
            return JsonDocument.Parse(utf8, Messages.KbsJson.StrictDocumentOptions);
        }
        catch (JsonException e)
        {
            throw new ProtocolFormatException(what, "not valid JSON (" + FirstLine(e.Message) + ")");
        }
    }

    public static JsonElement RequireObject(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            throw new ProtocolFormatException(path, $"expected a JSON object, got {Kind(e)}");
        }

        return e;
    }

    public static JsonElement Require(JsonElement obj, string name, string path)
    {
        if (!obj.TryGetProperty(name, out var v))
        {
            throw new ProtocolFormatException(Join(path, name), "missing");
        }

        return v;
    }

    public static string RequireString(JsonElement obj, string name, string path)
    {
        var v = Require(obj, name, path);
        if (v.ValueKind != JsonValueKind.String)
        {
            throw new ProtocolFormatException(Join(path, name), $"expected a string, got {Kind(v)}");
        }

        return v.GetString()!;
    }

    /// <summary>
    /// A string member of at most <paramref name="maxBytes"/> bytes as sent (escapes counted as sent): a name or a
    /// version, refused by its size before a string of it is ever made.
    /// </summary>
    public static string RequireShortString(JsonElement obj, string name, string path, int maxBytes)
    {
        var v = Require(obj, name, path);
        if (v.ValueKind != JsonValueKind.String)
        {
            throw new ProtocolFormatException(Join(path, name), $"expected a string, got {Kind(v)}");
        }

        var sent = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(v).Length - 2;
        if (sent > maxBytes)
        {
            throw new ProtocolFormatException(Join(path, name), $"{sent} bytes long, more than the {maxBytes} any valid value has");
        }

        return v.GetString()!;
    }

    public static string? OptionalString(JsonElement obj, string name, string path)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.String)
        {
            throw new ProtocolFormatException(Join(path, name), $"expected a string, got {Kind(v)}");
        }

        return v.GetString();
    }

    /// <summary>Members not in <paramref name="known"/>, kept so that a message round-trips unchanged.</summary>
    public static IReadOnlyDictionary<string, JsonElement> Unknown(JsonElement obj, params string[] known)
    {
        var extra = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var p in obj.EnumerateObject())
        {
            if (Array.IndexOf(known, p.Name) < 0)
            {
                extra[p.Name] = p.Value.Clone();
            }
        }

        return extra;
    }

    public static string Join(string path, string name) => string.IsNullOrEmpty(path) ? name : path + "." + name;

    public static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    private static string FirstLine(string s)
    {
        var i = s.IndexOf('\n', StringComparison.Ordinal);
        return i < 0 ? s : s[..i];
    }
}
