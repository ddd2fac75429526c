using System.Text.Json;
using System.Text.Json.Nodes;

namespace Veil.Kubernetes.Admission;

/// <summary>The parts of an admission.k8s.io/v1 AdmissionRequest the webhook reads.</summary>
public sealed record AdmissionRequest(
    string ApiVersion,
    string Uid,
    string Kind,
    string? SubResource,
    string Operation,
    string? Namespace,
    JsonObject? Pod)
{
    /// <summary>Pods are judged on CREATE and UPDATE, including the ephemeralcontainers subresource (kubectl debug).</summary>
    public bool IsJudgedPod =>
        Kind == "Pod" && Operation is "CREATE" or "UPDATE" && (SubResource is null or "" or "ephemeralcontainers");
}

/// <summary>Reads an AdmissionReview request; every refusal names the JSON path that was wrong.</summary>
public static class AdmissionReviewReader
{
    public const string ApiVersion = "admission.k8s.io/v1";

    // Duplicate keys are refused at parse time: JsonNode would otherwise throw later, and two readers of one review
    // must not disagree about which value counts.
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 128, AllowDuplicateProperties = false };

    public static AdmissionRequest Read(ReadOnlySpan<byte> body)
    {
        // JsonNode defers UTF-8 validation of string contents until a value is read, where it throws
        // InvalidOperationException; refusing invalid UTF-8 up front keeps every refusal a named one.
        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            throw new AdmissionReviewException("$", "not valid UTF-8");
        }

        JsonNode? root;
        try
        {
            root = JsonNode.Parse(body, documentOptions: DocumentOptions);
        }
        catch (JsonException e)
        {
            throw new AdmissionReviewException("$", $"not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine})");
        }

        if (root is not JsonObject review)
        {
            throw new AdmissionReviewException("$", "expected a JSON object (an AdmissionReview)");
        }

        var apiVersion = RequiredString(review, "apiVersion", "apiVersion");
        if (apiVersion != ApiVersion)
        {
            throw new AdmissionReviewException("apiVersion", $"'{Printable(apiVersion)}' is not supported; only {ApiVersion} (set admissionReviewVersions: [v1])");
        }

        if (RequiredString(review, "kind", "kind") != "AdmissionReview")
        {
            throw new AdmissionReviewException("kind", "expected AdmissionReview");
        }

        if (review["request"] is not JsonObject request)
        {
            throw new AdmissionReviewException("request", review.ContainsKey("request") ? "expected an object" : "missing");
        }

        var uid = RequiredString(request, "uid", "request.uid");
        if (request["kind"] is not JsonObject kind)
        {
            throw new AdmissionReviewException("request.kind", request.ContainsKey("kind") ? "expected an object {group, version, kind}" : "missing");
        }

        var kindName = RequiredString(kind, "kind", "request.kind.kind");
        var operation = RequiredString(request, "operation", "request.operation");
        var subResource = OptionalString(request, "subResource", "request.subResource");
        var ns = OptionalString(request, "namespace", "request.namespace");
        JsonObject? obj = null;
        if (kindName == "Pod" && operation is "CREATE" or "UPDATE")
        {
            obj = request["object"] switch
            {
                JsonObject o => o,
                null => throw new AdmissionReviewException("request.object", "missing (a Pod is expected on " + operation + ")"),
                _ => throw new AdmissionReviewException("request.object", "expected a JSON object (a Pod)"),
            };
            if (obj["kind"] is JsonNode k && (k.GetValueKind() != JsonValueKind.String || k.GetValue<string>() != "Pod"))
            {
                throw new AdmissionReviewException("request.object.kind", "expected Pod, as request.kind says");
            }

            if (obj["spec"] is not JsonObject)
            {
                throw new AdmissionReviewException("request.object.spec", obj.ContainsKey("spec") ? "expected an object" : "missing");
            }
        }

        return new AdmissionRequest(apiVersion, uid, kindName, subResource, operation, ns, obj);
    }

    internal static string RequiredString(JsonObject o, string name, string path) => o[name] switch
    {
        null => throw new AdmissionReviewException(path, "missing"),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>() is { Length: > 0 } s ? s : throw new AdmissionReviewException(path, "empty"),
        _ => throw new AdmissionReviewException(path, "expected a string"),
    };

    internal static string? OptionalString(JsonObject o, string name, string path) => o[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => throw new AdmissionReviewException(path, "expected a string"),
    };

    /// <summary>Echoes at most a short, printable prefix of a bad value (a review's own fields, never pod content).</summary>
    internal static string Printable(string s)
    {
        var cut = s.Length > 40 ? s[..40] + "…" : s;
        return new string(cut.Select(c => char.IsControl(c) ? '?' : c).ToArray());
    }
}
