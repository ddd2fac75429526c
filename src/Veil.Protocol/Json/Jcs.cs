using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Veil.Protocol.Json;

/// <summary>
/// RFC 8785 JSON Canonicalization Scheme. Hand-written because no available package implements it and
/// System.Text.Json's writer neither sorts keys nor formats numbers as ECMAScript does.
/// Input must be I-JSON: duplicate member names and lone surrogates are refused.
/// </summary>
public static class Jcs
{
    /// <summary>Canonical UTF-8 bytes of <paramref name="element"/>.</summary>
    public static byte[] Canonicalize(JsonElement element) => Encoding.UTF8.GetBytes(CanonicalString(element));

    /// <summary>Canonical form of a JSON text; the text must be one valid JSON value.</summary>
    public static byte[] Canonicalize(string json)
    {
        using var doc = Parse(json);
        return Canonicalize(doc.RootElement);
    }

    public static string CanonicalString(JsonElement element)
    {
        var sb = new StringBuilder(256);
        Write(element, sb, "$");
        return sb.ToString();
    }

    internal static JsonDocument Parse(string json)
    {
        try
        {
            return JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new ProtocolFormatException("(json)", "not valid JSON: " + e.Message);
        }
    }

    private static void Write(JsonElement element, StringBuilder sb, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                WriteObject(element, sb, path);
                break;
            case JsonValueKind.Array:
                sb.Append('[');
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (i > 0)
                    {
                        sb.Append(',');
                    }

                    Write(item, sb, $"{path}[{i.ToString(CultureInfo.InvariantCulture)}]");
                    i++;
                }

                sb.Append(']');
                break;
            case JsonValueKind.String:
                WriteString(GetString(element, path), sb, path);
                break;
            case JsonValueKind.Number:
                if (!element.TryGetDouble(out var d) || double.IsInfinity(d))
                {
                    throw new ProtocolFormatException(path, "number out of the IEEE 754 double range");
                }

                sb.Append(EcmaNumber.Format(d));
                break;
            case JsonValueKind.True:
                sb.Append("true");
                break;
            case JsonValueKind.False:
                sb.Append("false");
                break;
            case JsonValueKind.Null:
                sb.Append("null");
                break;
            default:
                throw new ProtocolFormatException(path, "undefined JSON value");
        }
    }

    private static void WriteObject(JsonElement element, StringBuilder sb, string path)
    {
        var members = new List<(string Name, JsonElement Value)>();
        foreach (var p in element.EnumerateObject())
        {
            members.Add((p.Name, p.Value));
        }

        // RFC 8785 §3.2.3: sort by UTF-16 code units, which is exactly ordinal comparison of .NET strings.
        members.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        sb.Append('{');
        for (var i = 0; i < members.Count; i++)
        {
            if (i > 0)
            {
                if (string.Equals(members[i].Name, members[i - 1].Name, StringComparison.Ordinal))
                {
                    throw new ProtocolFormatException($"{path}.{members[i].Name}", "duplicate member name (not I-JSON)");
                }

                sb.Append(',');
            }

            WriteString(members[i].Name, sb, path);
            sb.Append(':');
            Write(members[i].Value, sb, $"{path}.{members[i].Name}");
        }

        sb.Append('}');
    }

    private static string GetString(JsonElement element, string path)
    {
        try
        {
            return element.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw new ProtocolFormatException(path, "string is not valid Unicode (lone surrogate)");
        }
    }

    private static void WriteString(string s, StringBuilder sb, string path)
    {
        sb.Append('"');
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            switch (c)
            {
                case '"':
                    sb.Append("\\\"");
                    break;
                case '\\':
                    sb.Append("\\\\");
                    break;
                case '\b':
                    sb.Append("\\b");
                    break;
                case '\f':
                    sb.Append("\\f");
                    break;
                case '\n':
                    sb.Append("\\n");
                    break;
                case '\r':
                    sb.Append("\\r");
                    break;
                case '\t':
                    sb.Append("\\t");
                    break;
                default:
                    if (c < 0x20)
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                    {
                        sb.Append(c).Append(s[++i]);
                    }
                    else if (char.IsSurrogate(c))
                    {
                        throw new ProtocolFormatException(path, "string is not valid Unicode (lone surrogate)");
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        sb.Append('"');
    }
}
