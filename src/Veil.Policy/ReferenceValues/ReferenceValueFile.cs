using System.Globalization;
using System.Text.Json;
using Veil.Policy.Loading;
using Veil.Policy.Model;
using YamlDotNet.RepresentationModel;

namespace Veil.Policy.ReferenceValues;

/// <summary>
/// Reference-value documents:
/// <code>
/// apiVersion: veil.dev/v1
/// kind: ReferenceValues
/// sets:
///   llama-guest-images:
///     - value: 803f6910...
///       provenance: "veil measure snp --ovmf OVMF.fd ... (release 1.4)"
///       expires: 2027-01-01T00:00:00Z
/// </code>
/// and the Confidential Containers RVPS "sample" message
/// <c>{"version":"0.1.0","type":"sample","payload":"{\"name\":[\"value\",...]}"}</c>.
/// </summary>
public static class ReferenceValueFile
{
    public static IReadOnlyList<ReferenceValueSet> Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new PolicyLoadException(new SourceLocation(path, 0), "reference-value file not found");
        }

        return Parse(File.ReadAllText(path), path);
    }

    public static IReadOnlyList<ReferenceValueSet> Parse(string text, string file)
    {
        var doc = PolicyYaml.Parse(text, file);
        doc.RequireHeader("ReferenceValues");
        doc.AllowOnly(doc.Root, "document", "apiVersion", "kind", "metadata", "sets");
        var setsNode = PolicyYaml.Get(doc.Root, "sets") ?? throw doc.Error(doc.Root, "missing 'sets'");
        var sets = new List<ReferenceValueSet>();
        foreach (var (key, valuesNode) in doc.Mapping(setsNode, "sets").Children)
        {
            var name = doc.Scalar(key, "set name");
            ValidateSetName(name, doc.At(key));
            var values = new List<ReferenceValue>();
            foreach (var item in doc.Sequence(valuesNode, $"set '{name}'").Children)
            {
                var m = doc.Mapping(item, $"value in set '{name}'");
                doc.AllowOnly(m, $"value in set '{name}'", "value", "provenance", "expires");
                var value = doc.String(m, "value", $"sets.{name}[]");
                var provenance = doc.String(m, "provenance", $"sets.{name}[]");
                DateTimeOffset? expires = null;
                if (PolicyYaml.Get(m, "expires") is { } exp)
                {
                    var t = doc.Scalar(exp, "expires");
                    if (!DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var when))
                    {
                        throw doc.Error(exp, $"expires '{t}' is not an ISO-8601 time");
                    }

                    expires = when;
                }

                values.Add(new ReferenceValue(value, provenance, expires, doc.At(item)));
            }

            sets.Add(new ReferenceValueSet(name, values));
        }

        return sets;
    }

    /// <summary>
    /// Reads the RVPS "sample" provenance message that Confidential Containers tools send
    /// (kbs-client set-sample-reference-value). Its payload is a JSON object of name → value or values.
    /// </summary>
    public static IReadOnlyList<ReferenceValueSet> ParseSampleMessage(string json, string provenance, DateTimeOffset? expires = null)
    {
        var source = new SourceLocation("reference-value message", 1);
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new PolicyLoadException(source, "message must be a JSON object");
            }

            if (!root.TryGetProperty("type", out var type) || type.GetString() != "sample")
            {
                throw new PolicyLoadException(source, "only messages of type 'sample' are accepted");
            }

            if (!root.TryGetProperty("payload", out var payloadElement) || payloadElement.ValueKind != JsonValueKind.String)
            {
                throw new PolicyLoadException(source, "'payload' must be a JSON string");
            }

            using var payload = JsonDocument.Parse(PayloadJson(payloadElement.GetString()!, source));
            if (payload.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new PolicyLoadException(source, "payload must be a JSON object of name → values");
            }

            var sets = new List<ReferenceValueSet>();
            foreach (var p in payload.RootElement.EnumerateObject())
            {
                ValidateSetName(p.Name, source);
                var values = p.Value.ValueKind switch
                {
                    JsonValueKind.Array => p.Value.EnumerateArray().Select(v => ScalarText(v, p.Name, source)).ToList(),
                    _ => [ScalarText(p.Value, p.Name, source)],
                };
                sets.Add(new ReferenceValueSet(p.Name, values.Select(v => new ReferenceValue(v, provenance, expires)).ToList()));
            }

            return sets;
        }
        catch (JsonException e)
        {
            throw new PolicyLoadException(new SourceLocation("reference-value message", (int)(e.LineNumber ?? 0) + 1), $"not valid JSON: {e.Message}");
        }
    }

    /// <summary>
    /// RVPS's sample extractor takes the payload as base64 of the JSON (what kbs-client sends); a payload that is
    /// already a JSON object is taken as is.
    /// </summary>
    private static string PayloadJson(string payload, SourceLocation source)
    {
        var trimmed = payload.TrimStart();
        if (trimmed.StartsWith('{'))
        {
            return payload;
        }

        var b64 = payload.Trim().Replace('-', '+').Replace('_', '/');
        b64 += new string('=', (4 - (b64.Length % 4)) % 4);
        try
        {
            return new System.Text.UTF8Encoding(false, true).GetString(Convert.FromBase64String(b64));
        }
        catch (Exception e) when (e is FormatException or System.Text.DecoderFallbackException)
        {
            throw new PolicyLoadException(source, "payload must be base64 of a JSON object of name → values (or that JSON object itself)");
        }
    }

    /// <summary>Writes sets in the file format <see cref="Parse"/> reads (values double-quoted, times in UTC).</summary>
    public static string Write(IEnumerable<ReferenceValueSet> sets)
    {
        ArgumentNullException.ThrowIfNull(sets);
        var sb = new System.Text.StringBuilder("apiVersion: veil.dev/v1\nkind: ReferenceValues\nsets:\n");
        foreach (var set in sets)
        {
            ValidateSetName(set.Name, new SourceLocation("reference values", 0));
            sb.Append("  ").Append(set.Name).Append(":\n");
            foreach (var v in set.Values)
            {
                sb.Append("    - value: ").Append(Quote(v.Value)).Append('\n');
                sb.Append("      provenance: ").Append(Quote(v.Provenance)).Append('\n');
                if (v.Expires is { } e)
                {
                    sb.Append("      expires: ").Append(e.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)).Append('\n');
                }
            }
        }

        return sb.ToString();
    }

    /// <summary>A YAML double-quoted scalar; control characters are escaped so a value is always one line.</summary>
    private static string Quote(string s)
    {
        var sb = new System.Text.StringBuilder("\"");
        foreach (var ch in s)
        {
            sb.Append(ch switch
            {
                '\\' => "\\\\",
                '"' => "\\\"",
                < ' ' => $"\\x{(int)ch:x2}",
                _ => ch.ToString(),
            });
        }

        return sb.Append('"').ToString();
    }

    internal static void ValidateSetName(string name, SourceLocation at)
    {
        if (name.Length is 0 or > 128 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw new PolicyLoadException(at, $"set name '{name}' must be 1-128 letters, digits, '-', '_' or '.'");
        }
    }

    private static string ScalarText(JsonElement v, string name, SourceLocation source) => v.ValueKind switch
    {
        JsonValueKind.String => v.GetString()!,
        JsonValueKind.Number => v.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => throw new PolicyLoadException(source, $"value of '{name}' must be a string, number or boolean"),
    };
}
