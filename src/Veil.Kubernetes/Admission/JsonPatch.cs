using System.Text.Json.Nodes;

namespace Veil.Kubernetes.Admission;

/// <summary>Builds RFC 6902 "add" operations with RFC 6901 pointers.</summary>
internal static class JsonPatch
{
    /// <summary>RFC 6901 §3: '~' becomes '~0' first, then '/' becomes '~1' (the other order would corrupt "~1" in a name).</summary>
    public static string Escape(string token) => token.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    public static string Pointer(params string[] tokens) => string.Concat(tokens.Select(t => "/" + Escape(t)));

    public static JsonObject Add(string path, JsonNode? value) => new() { ["op"] = "add", ["path"] = path, ["value"] = value };
}

/// <summary>
/// A patch built by more than one injector. Appending to an absent array adds it whole (a pointer into a missing
/// array is an error in RFC 6902); an array one injector added whole is appended to by the next with "-", since a
/// second whole-array "add" would replace the first one's item. <c>first</c> inserts at index 0.
/// </summary>
internal sealed class PatchBuilder
{
    private readonly HashSet<string> _created = new(StringComparer.Ordinal);

    public JsonArray Operations { get; } = [];

    public void Add(JsonObject operation) => Operations.Add(operation);

    public void AddToArray(JsonObject parent, string parentPointer, string name, JsonNode item, bool first = false)
    {
        var pointer = parentPointer + JsonPatch.Pointer(name);
        if (parent[name] is JsonArray || _created.Contains(pointer))
        {
            Operations.Add(JsonPatch.Add(pointer + JsonPatch.Pointer(first ? "0" : "-"), item));
            return;
        }

        _created.Add(pointer);
        Operations.Add(JsonPatch.Add(pointer, new JsonArray(item)));
    }
}
