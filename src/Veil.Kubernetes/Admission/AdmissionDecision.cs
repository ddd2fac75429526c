using System.Text;
using System.Text.Json.Nodes;

namespace Veil.Kubernetes.Admission;

/// <summary>The webhook's answer for one request; <see cref="Patch"/> is an RFC 6902 document or null.</summary>
public sealed record AdmissionDecision(bool Allowed, string? Message, IReadOnlyList<string> Warnings, JsonArray? Patch)
{
    public static AdmissionDecision Allow(params string[] warnings) => new(true, null, warnings, null);

    public static AdmissionDecision Deny(string message) => new(false, message, [], null);

    public static AdmissionDecision Mutate(JsonArray patch, IReadOnlyList<string> warnings) => new(true, null, warnings, patch);
}

/// <summary>Writes the AdmissionReview response: apiVersion and kind echoed, response.uid = request.uid.</summary>
public static class AdmissionResponseWriter
{
    public static byte[] Write(AdmissionRequest request, AdmissionDecision decision)
    {
        var response = new JsonObject
        {
            ["uid"] = request.Uid,
            ["allowed"] = decision.Allowed,
        };
        if (!decision.Allowed)
        {
            response["status"] = new JsonObject { ["code"] = 403, ["reason"] = "Forbidden", ["message"] = decision.Message };
        }

        if (decision.Warnings.Count > 0)
        {
            response["warnings"] = new JsonArray([.. decision.Warnings.Select(w => (JsonNode?)JsonValue.Create(w))]);
        }

        if (decision.Patch is { Count: > 0 } patch)
        {
            response["patchType"] = "JSONPatch";
            response["patch"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(patch.ToJsonString()));
        }

        var review = new JsonObject
        {
            ["apiVersion"] = request.ApiVersion,
            ["kind"] = "AdmissionReview",
            ["response"] = response,
        };
        return Encoding.UTF8.GetBytes(review.ToJsonString());
    }
}
