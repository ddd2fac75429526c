using System.Text.Encodings.Web;
using System.Text.Json;

namespace Veil.Protocol.Messages;

/// <summary>Serialization of protocol messages to compact UTF-8 JSON.</summary>
public static class KbsJson
{
    private static readonly JsonWriterOptions Options = new()
    {
        // Field values are opaque protocol data; relaxed escaping keeps them byte-identical to the peer's.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    public static byte[] Serialize(Action<Utf8JsonWriter> write)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, Options))
        {
            write(w);
        }

        return ms.ToArray();
    }

    public static byte[] ToUtf8(this KbsRequest m) => Serialize(m.WriteTo);

    public static byte[] ToUtf8(this KbsChallenge m) => Serialize(m.WriteTo);

    public static byte[] ToUtf8(this KbsAttestation m) => Serialize(m.WriteTo);

    internal static void WriteUnknown(Utf8JsonWriter w, IReadOnlyDictionary<string, JsonElement> unknown)
    {
        foreach (var (name, value) in unknown)
        {
            w.WritePropertyName(name);
            value.WriteTo(w);
        }
    }
}
