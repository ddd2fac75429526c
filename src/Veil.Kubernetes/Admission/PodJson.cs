using System.Text.Json;
using System.Text.Json.Nodes;

namespace Veil.Kubernetes.Admission;

/// <summary>Typed, path-naming access to a Pod's JSON: a field of the wrong type is an error, an absent one is empty.</summary>
internal static class PodJson
{
    public static readonly string[] ContainerLists = ["initContainers", "containers", "ephemeralContainers"];

    public static JsonObject Spec(JsonObject pod) => (JsonObject)pod["spec"]!;

    public static IReadOnlyList<JsonObject> Objects(JsonObject parent, string name, string path)
    {
        switch (parent[name])
        {
            case null:
                return [];
            case JsonArray a:
                var list = new List<JsonObject>(a.Count);
                for (var i = 0; i < a.Count; i++)
                {
                    list.Add(a[i] as JsonObject ?? throw new AdmissionReviewException($"{path}.{name}[{i}]", "expected an object"));
                }

                return list;
            default:
                throw new AdmissionReviewException($"{path}.{name}", "expected an array");
        }
    }

    public static JsonObject? Object(JsonObject parent, string name, string path) => parent[name] switch
    {
        null => null,
        JsonObject o => o,
        _ => throw new AdmissionReviewException($"{path}.{name}", "expected an object"),
    };

    public static bool IsTrue(JsonObject parent, string name, string path) => parent[name] switch
    {
        null => false,
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        _ => throw new AdmissionReviewException($"{path}.{name}", "expected a boolean"),
    };

    public static string? Text(JsonObject parent, string name, string path) => AdmissionReviewReader.OptionalString(parent, name, $"{path}.{name}");

    /// <summary>metadata.annotations as strings; a non-string value is an error (the API server never sends one).</summary>
    public static IReadOnlyDictionary<string, string> Annotations(JsonObject pod)
    {
        var meta = Object(pod, "metadata", "request.object");
        var ann = meta is null ? null : Object(meta, "annotations", "request.object.metadata");
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in ann ?? [])
        {
            result[k] = v is JsonValue s && s.GetValueKind() == JsonValueKind.String
                ? s.GetValue<string>()
                : throw new AdmissionReviewException($"request.object.metadata.annotations[{k}]", "expected a string");
        }

        return result;
    }

    /// <summary>For logs: the pod's name, or its generateName with a trailing '*'.</summary>
    public static string Name(JsonObject pod)
    {
        var meta = pod["metadata"] as JsonObject;
        return (meta?["name"] as JsonValue)?.TryGetValue<string>(out var n) == true && n.Length > 0 ? n
            : (meta?["generateName"] as JsonValue)?.TryGetValue<string>(out var g) == true ? g + "*" : "(unnamed)";
    }
}
