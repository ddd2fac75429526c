using System.Text.Json;
using Veil.Protocol.Json;

namespace Veil.Protocol.Messages;

/// <summary>Answer to <c>/attest</c>: <c>{"token": "&lt;EAR JWT&gt;"}</c>.</summary>
public static class AttestResponse
{
    public static byte[] Serialize(string token) => KbsJson.Serialize(w =>
    {
        w.WriteStartObject();
        w.WriteString("token", token);
        w.WriteEndObject();
    });

    public static string ParseToken(ReadOnlyMemory<byte> utf8)
    {
        using var doc = JsonFields.ParseDocument(utf8, "attest response");
        return JsonFields.RequireString(JsonFields.RequireObject(doc.RootElement, "attest response"), "token", "");
    }
}
