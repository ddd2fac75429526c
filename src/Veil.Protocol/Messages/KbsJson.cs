using System.Buffers;
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

    /// <summary>Buffers kept per thread at most this large; a larger message gets a buffer of its own.</summary>
    private const int MaxCachedBuffer = 16 * 1024;

    // One buffer and writer per thread, reused: a MemoryStream per message grew through 256, 512 … 8192 bytes for the
    // attest answer's 5 KB token and was garbage at once (measured ~30 KB of the ~270 KB a broker handshake allocated).
    [ThreadStatic]
    private static (ArrayBufferWriter<byte> Buffer, Utf8JsonWriter Writer)? _cached;

    public static byte[] Serialize(Action<Utf8JsonWriter> write)
    {
        // Taken out of the slot while in use, so that a nested call (a writer that serializes a part) gets its own.
        var (buffer, writer) = _cached ?? NewWriter();
        _cached = null;
        try
        {
            writer.Reset(buffer);
            write(writer);
            writer.Flush();
            return buffer.WrittenSpan.ToArray();
        }
        finally
        {
            // Cleared, not only rewound: what a message held (a JWK, a token) does not stay in a buffer kept for later.
            // The flush first hands over what a writer that threw had not committed yet, so that the clear covers it.
            writer.Flush();
            buffer.Clear();
            if (buffer.Capacity <= MaxCachedBuffer)
            {
                writer.Reset();
                _cached = (buffer, writer);
            }
            else
            {
                writer.Dispose();
            }
        }
    }

    private static (ArrayBufferWriter<byte>, Utf8JsonWriter) NewWriter()
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        return (buffer, new Utf8JsonWriter(buffer, Options));
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
