using System.Buffers.Binary;
using System.Text;

namespace Veil.Attestation.Nvidia.Rim;

/// <summary>CBOR major types (RFC 8949 §3.1).</summary>
internal enum CborType : byte
{
    Unsigned = 0,
    Negative = 1,
    Bytes = 2,
    Text = 3,
    Array = 4,
    Map = 5,
    Tag = 6,
    Simple = 7,
}

/// <summary>
/// A minimal reader for definite-length CBOR (RFC 8949), enough for CoRIM and COSE_Sign1. Written here because
/// no CBOR library is in the package feed (System.Formats.Cbor is not served; see ../shared/DESIGN.md). It reads
/// over a <see cref="ReadOnlyMemory{T}"/> so byte strings (signed headers, payloads, digests) come back as slices
/// of the input. Every malformation — truncation, reserved or indefinite-length encodings, a length or count larger
/// than the bytes left, nesting deeper than <see cref="MaxDepth"/>, invalid UTF-8 — throws
/// <see cref="EvidenceFormatException"/> naming the field being read.
/// </summary>
internal sealed class CborReader(ReadOnlyMemory<byte> data)
{
    public const int MaxDepth = 32;

    private readonly ReadOnlyMemory<byte> data = data;

    public int Position { get; private set; }

    public int Remaining => data.Length - Position;

    public bool AtEnd => Position == data.Length;

    public CborType PeekType(string field) =>
        AtEnd ? throw new EvidenceFormatException(field, "truncated: no data item") : (CborType)(data.Span[Position] >> 5);

    /// <summary>The tag number of the next item when it is a tag, without consuming it; otherwise null.</summary>
    public ulong? PeekTag(string field)
    {
        if (PeekType(field) != CborType.Tag)
        {
            return null;
        }

        var start = Position;
        var tag = Head(field, out _);
        Position = start;
        return tag;
    }

    public ulong ReadUnsigned(string field) => Expect(CborType.Unsigned, field);

    /// <summary>A major type 0 or 1 integer that fits in a long.</summary>
    public long ReadInteger(string field)
    {
        var type = PeekType(field);
        if (type is not (CborType.Unsigned or CborType.Negative))
        {
            throw Wrong(field, "an integer", type);
        }

        var v = Head(field, out _);
        if (v > long.MaxValue)
        {
            throw new EvidenceFormatException(field, "integer out of range");
        }

        return type == CborType.Unsigned ? (long)v : -1 - (long)v;
    }

    public ReadOnlyMemory<byte> ReadBytes(string field)
    {
        var length = Length(Expect(CborType.Bytes, field), field);
        var slice = data.Slice(Position, length);
        Position += length;
        return slice;
    }

    public string ReadText(string field)
    {
        var length = Length(Expect(CborType.Text, field), field);
        string text;
        try
        {
            text = Strict.GetString(data.Span.Slice(Position, length));
        }
        catch (DecoderFallbackException e)
        {
            throw new EvidenceFormatException(field, "text string is not valid UTF-8", e);
        }

        Position += length;
        return text;
    }

    /// <summary>The item count of an array; at most one item per byte left, so a forged count cannot allocate.</summary>
    public int ReadArray(string field) => Count(Expect(CborType.Array, field), 1, field);

    /// <summary>The pair count of a map; at most one pair per two bytes left.</summary>
    public int ReadMap(string field) => Count(Expect(CborType.Map, field), 2, field);

    public ulong ReadTag(string field) => Expect(CborType.Tag, field);

    /// <summary>Consumes the tag when the next item is tagged <paramref name="tag"/>.</summary>
    public bool TryReadTag(ulong tag, string field)
    {
        if (PeekTag(field) != tag)
        {
            return false;
        }

        _ = ReadTag(field);
        return true;
    }

    public bool TryReadNull(string field)
    {
        if (PeekType(field) == CborType.Simple && data.Span[Position] == 0xF6)
        {
            Position++;
            return true;
        }

        return false;
    }

    /// <summary>
    /// The integer keys of a map, one at a time; the caller reads or skips each value. A text key (a profile
    /// extension) is skipped with its value, a key given twice is an error (which value would count is ambiguous).
    /// </summary>
    public IEnumerable<long> IntKeys(string field)
    {
        var count = ReadMap(field);
        var seen = new HashSet<long>();
        for (var i = 0; i < count; i++)
        {
            if (PeekType(field) is not (CborType.Unsigned or CborType.Negative))
            {
                _ = Skip(field + ".key");
                _ = Skip(field + ".value");
                continue;
            }

            var key = ReadInteger(field + ".key");
            if (!seen.Add(key))
            {
                throw new EvidenceFormatException($"{field}[{key}]", "key appears twice");
            }

            yield return key;
        }
    }

    /// <summary>Skips one whole data item (with everything nested in it) and returns its encoded bytes.</summary>
    public ReadOnlyMemory<byte> Skip(string field)
    {
        var start = Position;
        var pending = 1L;
        var depth = 0;
        var ends = new Stack<long>();
        while (pending > 0)
        {
            var type = PeekType(field);
            var v = Head(field, out _); // for simple values and floats the head is the whole item
            pending--;
            switch (type)
            {
                case CborType.Bytes or CborType.Text:
                    Position += Length(v, field);
                    break;
                case CborType.Array or CborType.Map:
                    // The items of a container are counted into "pending"; the stack remembers where each ends.
                    var items = (long)Count(v, type == CborType.Array ? 1 : 2, field) * (type == CborType.Array ? 1 : 2);
                    Nest(ref depth, field);
                    ends.Push(pending);
                    pending += items;
                    break;
                case CborType.Tag:
                    Nest(ref depth, field);
                    ends.Push(pending);
                    pending++;
                    break;
            }

            while (ends.Count > 0 && ends.Peek() == pending)
            {
                ends.Pop();
                depth--;
            }
        }

        return data[start..Position];
    }

    /// <summary>Fails unless every byte was read: trailing bytes after a signed or hashed structure are never ignored.</summary>
    public void ExpectEnd(string field)
    {
        if (!AtEnd)
        {
            throw new EvidenceFormatException(field, $"{Remaining} unexpected bytes after the data item");
        }
    }

    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static void Nest(ref int depth, string field)
    {
        if (++depth > MaxDepth)
        {
            throw new EvidenceFormatException(field, $"nested deeper than {MaxDepth} levels");
        }
    }

    private ulong Expect(CborType type, string field)
    {
        var actual = PeekType(field);
        return actual == type ? Head(field, out _) : throw Wrong(field, Describe(type), actual);
    }

    private static EvidenceFormatException Wrong(string field, string expected, CborType actual) =>
        new(field, $"expected {expected}, found {Describe(actual)}");

    private static string Describe(CborType t) => t switch
    {
        CborType.Unsigned => "an unsigned integer",
        CborType.Negative => "a negative integer",
        CborType.Bytes => "a byte string",
        CborType.Text => "a text string",
        CborType.Array => "an array",
        CborType.Map => "a map",
        CborType.Tag => "a tag",
        _ => "a simple value or float",
    };

    /// <summary>Reads an initial byte and its argument (RFC 8949 §3); the caller has checked that a byte is there.</summary>
    private ulong Head(string field, out int additional)
    {
        var span = data.Span;
        var initial = span[Position];
        additional = initial & 0x1F;
        var size = additional switch
        {
            < 24 => 0,
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            31 => throw new EvidenceFormatException(field, "indefinite-length items are not accepted"),
            _ => throw new EvidenceFormatException(field, $"reserved additional information {additional} in initial byte 0x{initial:x2}"),
        };
        if (Remaining < 1 + size)
        {
            throw new EvidenceFormatException(field, $"truncated: the item head needs {1 + size} bytes, {Remaining} remain");
        }

        var arg = span.Slice(Position + 1, size);
        ulong value = size switch
        {
            0 => (ulong)additional,
            1 => arg[0],
            2 => BinaryPrimitives.ReadUInt16BigEndian(arg),
            4 => BinaryPrimitives.ReadUInt32BigEndian(arg),
            _ => BinaryPrimitives.ReadUInt64BigEndian(arg),
        };
        Position += 1 + size;
        return value;
    }

    private int Length(ulong declared, string field) =>
        declared <= (ulong)Remaining
            ? (int)declared
            : throw new EvidenceFormatException(field, $"declares {declared} bytes, only {Remaining} remain");

    private int Count(ulong declared, int minBytesEach, string field) =>
        declared <= (ulong)(Remaining / minBytesEach)
            ? (int)declared
            : throw new EvidenceFormatException(field, $"declares {declared} entries, only {Remaining} bytes remain");
}
