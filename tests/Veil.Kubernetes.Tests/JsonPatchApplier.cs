using System.Globalization;
using System.Text.Json.Nodes;

namespace Veil.Kubernetes.Tests;

/// <summary>A small RFC 6902 applier for "add" (all the webhook emits), strict where the API server is: no adding into a missing array.</summary>
internal static class JsonPatchApplier
{
    public static JsonNode Apply(JsonNode document, JsonArray patch)
    {
        var doc = document.DeepClone();
        foreach (var opNode in patch)
        {
            var op = opNode!.AsObject();
            var kind = op["op"]!.GetValue<string>();
            var tokens = Parse(op["path"]!.GetValue<string>());
            if (kind != "add")
            {
                throw new InvalidOperationException($"unsupported op {kind}");
            }

            var parent = Navigate(doc, tokens[..^1]);
            var last = tokens[^1];
            var value = op["value"]?.DeepClone();
            switch (parent)
            {
                case JsonObject o:
                    o[last] = value;
                    break;
                case JsonArray a when last == "-":
                    a.Add(value);
                    break;
                case JsonArray a:
                    var index = int.Parse(last, NumberStyles.None, CultureInfo.InvariantCulture);
                    if (index > a.Count)
                    {
                        throw new InvalidOperationException($"index {index} out of range");
                    }

                    a.Insert(index, value);
                    break;
                default:
                    throw new InvalidOperationException($"path {op["path"]} has no container parent");
            }
        }

        return doc;
    }

    /// <summary>RFC 6901 §4: '~1' → '/' first, then '~0' → '~'.</summary>
    public static string[] Parse(string pointer)
    {
        if (!pointer.StartsWith('/'))
        {
            throw new InvalidOperationException($"pointer '{pointer}' must start with '/'");
        }

        return pointer[1..].Split('/').Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();
    }

    private static JsonNode Navigate(JsonNode doc, string[] tokens)
    {
        var node = doc;
        foreach (var t in tokens)
        {
            node = node switch
            {
                JsonObject o => o[t] ?? throw new InvalidOperationException($"missing member '{t}'"),
                JsonArray a => a[int.Parse(t, NumberStyles.None, CultureInfo.InvariantCulture)] ?? throw new InvalidOperationException($"null at {t}"),
                _ => throw new InvalidOperationException($"cannot descend into a value at '{t}'"),
            };
        }

        return node;
    }
}
