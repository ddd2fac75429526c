using System.Text.Json;
using Veil.Protocol.Json;

namespace Veil.Protocol.Messages;

/// <summary>RCAR Challenge, answer to <c>/auth</c>: <c>{nonce, extra-params}</c>; nonce is standard base64 of 32 random bytes.</summary>
public sealed record KbsChallenge(string Nonce, JsonElement? ExtraParams, IReadOnlyDictionary<string, JsonElement> Unknown)
{
    public static KbsChallenge Create(string nonce) =>
        new(nonce, JsonDocument.Parse("\"\"").RootElement.Clone(), new Dictionary<string, JsonElement>());

    public static KbsChallenge Parse(ReadOnlyMemory<byte> utf8)
    {
        using var doc = JsonFields.ParseDocument(utf8, "challenge");
        var root = JsonFields.RequireObject(doc.RootElement, "challenge");
        return new KbsChallenge(
            JsonFields.RequireString(root, "nonce", ""),
            root.TryGetProperty("extra-params", out var extra) ? extra.Clone() : null,
            JsonFields.Unknown(root, "nonce", "extra-params"));
    }

    public void WriteTo(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("nonce", Nonce);
        if (ExtraParams is { } e)
        {
            w.WritePropertyName("extra-params");
            e.WriteTo(w);
        }

        KbsJson.WriteUnknown(w, Unknown);
        w.WriteEndObject();
    }
}
