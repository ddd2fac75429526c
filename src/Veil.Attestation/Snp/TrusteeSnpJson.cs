using System.Buffers;
using System.Text.Json;

namespace Veil.Attestation.Snp;

/// <summary>
/// One pass of <see cref="Utf8JsonReader"/> over Trustee's SNP evidence, keeping only the fields the encoder reads:
/// numbers as parsed values, byte arrays in one pooled buffer, the known objects by slot. Nothing is judged here
/// except JSON syntax, so the encoder reports the first field error in the same order as before, and a syntax error
/// anywhere wins over field errors, as with a whole-document parse. A property given twice keeps its last value.
/// </summary>
internal sealed class TrusteeSnpJson : IDisposable
{
    private static readonly JsonReaderOptions Options = new() { MaxDepth = 16 };

    private byte[] bytes;
    private int used;

    private TrusteeSnpJson(int capacity) => bytes = ArrayPool<byte>.Shared.Rent(capacity);

    public JsonTokenType RootType { get; private set; }

    public Value Report { get; private set; }

    public Value CertChain { get; private set; }

    /// <exception cref="JsonException">The input is not one well-formed JSON value.</exception>
    public static TrusteeSnpJson Read(ReadOnlySpan<byte> json)
    {
        // A JSON array holds at most one number per two bytes ("1,"), so the buffer never has to grow.
        var doc = new TrusteeSnpJson((json.Length / 2) + 16);
        try
        {
            var reader = new Utf8JsonReader(json, Options);
            reader.Read();
            doc.RootType = reader.TokenType;
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                var root = doc.ReadObject(ref reader, Schema.Root);
                doc.Report = root[0];
                doc.CertChain = root[1];
            }
            else
            {
                reader.Skip();
            }

            // Anything after the one top-level value is an error, as JsonDocument.Parse makes it.
            reader.Read();
            return doc;
        }
        catch
        {
            doc.Dispose();
            throw;
        }
    }

    public ReadOnlySpan<byte> Bytes(Value array) => bytes.AsSpan(array.Offset, array.Count);

    public void Dispose()
    {
        if (bytes.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(bytes);
            bytes = [];
        }
    }

    private Value[] ReadObject(ref Utf8JsonReader reader, Schema schema)
    {
        var fields = new Value[schema.Names.Length];
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var slot = schema.Find(ref reader);
            reader.Read();
            if (slot < 0)
            {
                reader.Skip();
                continue;
            }

            fields[slot] = ReadValue(ref reader, schema.Shapes[slot]);
        }

        return fields;
    }

    private Value ReadValue(ref Utf8JsonReader reader, Shape shape)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return new Value(Kind.Null);
            case JsonTokenType.Number:
                return reader.TryGetUInt64(out var n) ? new Value(Kind.Number) { Number = n, IsUInt64 = true } : new Value(Kind.Number);
            case JsonTokenType.StartObject when shape.Fields is { } schema:
                return new Value(Kind.Object) { Fields = ReadObject(ref reader, schema) };
            case JsonTokenType.StartArray when shape.Items is { } items:
                return ReadObjects(ref reader, items);
            case JsonTokenType.StartArray when shape.IsBytes:
                return ReadBytes(ref reader);
            case JsonTokenType.StartObject:
                reader.Skip();
                return new Value(Kind.Object);
            case JsonTokenType.StartArray:
                reader.Skip();
                return new Value(Kind.Array);
            default:
                return new Value(Kind.Other);
        }
    }

    private Value ReadBytes(ref Utf8JsonReader reader)
    {
        var offset = used;
        var firstBad = -1;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetByte(out bytes[used]))
            {
                bytes[used] = 0;
                firstBad = firstBad < 0 ? used - offset : firstBad;
                reader.Skip();
            }

            used++;
        }

        return new Value(Kind.Array) { Offset = offset, Count = used - offset, FirstBad = firstBad };
    }

    private Value ReadObjects(ref Utf8JsonReader reader, Schema items)
    {
        var list = new List<Value>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            list.Add(reader.TokenType == JsonTokenType.StartObject ? new Value(Kind.Object) { Fields = ReadObject(ref reader, items) } : Skipped(ref reader));
        }

        return new Value(Kind.Array) { Items = list };
    }

    private static Value Skipped(ref Utf8JsonReader reader)
    {
        var kind = reader.TokenType switch
        {
            JsonTokenType.Null => Kind.Null,
            JsonTokenType.Number => Kind.Number,
            JsonTokenType.StartArray => Kind.Array,
            _ => Kind.Other,
        };
        reader.Skip();
        return new Value(kind);
    }

    public enum Kind : byte
    {
        Missing,
        Null,
        Number,
        Object,
        Array,
        Other,
    }

    /// <summary>What one property held. Byte arrays point into the document's buffer.</summary>
    public readonly record struct Value(Kind Kind)
    {
        public ulong Number { get; init; }

        /// <summary>The number is an integer that fits in 64 unsigned bits.</summary>
        public bool IsUInt64 { get; init; }

        public int Offset { get; init; }

        public int Count { get; init; }

        /// <summary>Index of the first element that is not a number 0–255, or -1.</summary>
        public int FirstBad { get; init; }

        public Value[]? Fields { get; init; }

        public IReadOnlyList<Value>? Items { get; init; }
    }

    /// <summary>How a known property is read: a byte array, an object of known fields, an array of such objects, or a scalar.</summary>
    public sealed record Shape(bool IsBytes = false, Schema? Fields = null, Schema? Items = null)
    {
        public static readonly Shape Scalar = new();
        public static readonly Shape ByteArray = new(IsBytes: true);
    }

    /// <summary>The properties of one object the encoder reads, by slot.</summary>
    public sealed class Schema(params (string Name, Shape Shape)[] fields)
    {
        private static readonly Schema Tcb = new(("fmc", Shape.Scalar), ("bootloader", Shape.Scalar), ("tee", Shape.Scalar), ("snp", Shape.Scalar), ("microcode", Shape.Scalar));
        private static readonly Schema Version = new(("build", Shape.Scalar), ("minor", Shape.Scalar), ("major", Shape.Scalar));
        private static readonly Schema Signature = new(("r", Shape.ByteArray), ("s", Shape.ByteArray));
        private static readonly Schema CertEntry = new(("data", Shape.ByteArray));

        private readonly byte[][] utf8 = [.. fields.Select(f => System.Text.Encoding.UTF8.GetBytes(f.Name))];

        /// <summary>The report's fields, in the slot order <see cref="TrusteeSnpEvidence"/> reads them by.</summary>
        public static readonly Schema Report = new(
            ("version", Shape.Scalar), ("guest_svn", Shape.Scalar), ("policy", Shape.Scalar), ("family_id", Shape.ByteArray),
            ("image_id", Shape.ByteArray), ("vmpl", Shape.Scalar), ("sig_algo", Shape.Scalar), ("current_tcb", new(Fields: Tcb)),
            ("plat_info", Shape.Scalar), ("key_info", Shape.Scalar), ("report_data", Shape.ByteArray), ("measurement", Shape.ByteArray),
            ("host_data", Shape.ByteArray), ("id_key_digest", Shape.ByteArray), ("author_key_digest", Shape.ByteArray),
            ("report_id", Shape.ByteArray), ("report_id_ma", Shape.ByteArray), ("reported_tcb", new(Fields: Tcb)),
            ("cpuid_fam_id", Shape.Scalar), ("cpuid_mod_id", Shape.Scalar), ("cpuid_step", Shape.Scalar), ("chip_id", Shape.ByteArray),
            ("committed_tcb", new(Fields: Tcb)), ("current", new(Fields: Version)), ("committed", new(Fields: Version)),
            ("launch_tcb", new(Fields: Tcb)), ("launch_mit_vector", Shape.Scalar), ("current_mit_vector", Shape.Scalar),
            ("signature", new(Fields: Signature)));

        public static readonly Schema Root = new(("attestation_report", new(Fields: Report)), ("cert_chain", new(Items: CertEntry)));

        public string[] Names { get; } = [.. fields.Select(f => f.Name)];

        public Shape[] Shapes { get; } = [.. fields.Select(f => f.Shape)];

        public int Slot(string name) => Array.IndexOf(Names, name);

        /// <summary>The slot of the property name under the reader (escapes decoded), or -1 when it is not read.</summary>
        public int Find(ref Utf8JsonReader reader)
        {
            for (var i = 0; i < utf8.Length; i++)
            {
                if (reader.ValueTextEquals(utf8[i]))
                {
                    return i;
                }
            }

            return -1;
        }
    }
}
