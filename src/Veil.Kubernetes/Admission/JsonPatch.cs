using System.Text.Json.Nodes;

namespace Veil.Kubernetes.Admission;

/// <summary>Builds RFC 6902 "add" operations with RFC 6901 pointers.</summary>
internal static class JsonPatch
{
    /// <summary>RFC 6901 §3: '~' becomes '~0' first, then '/' becomes '~1' (the other order would corrupt "~1" in a name).</summary>
    public static string Escape(string token) => token.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    public static string Pointer(params string[] tokens) => string.Concat(tokens.Select(t => "/" + Escape(t)));

    public static JsonObject Add(string path, JsonNode? value) => new() { ["op"] = "add", ["path"] = path, ["value"] = value };

    /// <summary>
    /// Appends <paramref name="item"/> to the array <paramref name="name"/> of <paramref name="parent"/>: an absent array is
    /// added whole (a pointer into a missing array is an error in RFC 6902); <paramref name="first"/> inserts at index 0.
    /// </summary>
    public static JsonObject AddToArray(JsonObject parent, string parentPointer, string name, JsonNode item, bool first = false) =>
        parent[name] is JsonArray
            ? Add(parentPointer + Pointer(name, first ? "0" : "-"), item)
            : Add(parentPointer + Pointer(name), new JsonArray(item));
}
