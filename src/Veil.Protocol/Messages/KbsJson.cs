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

    /// <summary>
    /// How untrusted JSON is read here and in the broker: duplicate keys are an error, since JsonDocument would take the
    /// last where another reader of the same bytes may take the first.
    /// </summary>
    public static JsonDocumentOptions StrictDocumentOptions { get; } = new() { MaxDepth = 64, AllowDuplicateProperties = false };

    /// <summary>
    /// Parses untrusted JSON of at most 2 MiB; too large, invalid UTF-8, duplicate keys or malformed JSON are a
    /// <see cref="ProtocolFormatException"/> naming <paramref name="what"/>.
    /// </summary>
    public static JsonDocument ParseStrict(ReadOnlyMemory<byte> utf8, string what) => Json.JsonFields.ParseDocument(utf8, what);

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
