using System.Buffers.Binary;
using System.Text;
using Lib = System.Formats.Cbor;

namespace Veil.Attestation.Nvidia.Rim;

/// <summary>CBOR major types (RFC 8949 §3.1), the vocabulary of the CoRIM reader's errors.</summary>
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
/// The CoRIM and COSE reader: System.Formats.Cbor does the decoding; this adds what the CoRIM code relies on and
/// the library does not give. Every malformation — truncation, reserved or indefinite-length encodings, a length or
/// count larger than the bytes left, nesting deeper than <see cref="MaxDepth"/>, invalid UTF-8, an integer key
/// given twice — throws <see cref="EvidenceFormatException"/> naming the field being read; no library exception
/// leaves this class. Byte strings come back as slices of the input (signed headers, payloads, digests).
/// </summary>
/// <remarks>
/// Why the layer: (1) the library refuses with one generic message per kind ("Declared definite length of CBOR data
/// item exceeds available buffer size") that names neither the length nor the bytes left, so on a refusal
/// <see cref="Refused"/> reads the failing item's head (RFC 8949 §3, a few lines) to say why; (2) it reads in
/// <see cref="Lib.CborConformanceMode.Lax"/>, because Strict, which would refuse duplicate keys and bad UTF-8 by
/// itself, refuses a duplicate while reading the second key and so cannot name it, and also refuses duplicate text
/// keys that the CoRIM profile skips; the per-map key check and a throwing UTF-8 decoder are here instead;
/// (3) Lax accepts indefinite lengths, which CoRIM signers never write and which are refused here; (4) the
/// library has no nesting limit; (5) callers read containers by count, so the end of a definite-length container
/// is consumed here when reached.
/// </remarks>
internal sealed class CborReader(ReadOnlyMemory<byte> data)
{
    public const int MaxDepth = 32;

    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ReadOnlyMemory<byte> data = data;
    private readonly Lib.CborReader reader = new(data, Lib.CborConformanceMode.Lax, allowMultipleRootLevelValues: true);

    public int Position => data.Length - reader.BytesRemaining;

    public int Remaining => reader.BytesRemaining;

    public bool AtEnd => reader.BytesRemaining == 0;

    public CborType PeekType(string field) => Type(Peek(field));

    /// <summary>The tag number of the next item when it is a tag, without consuming it; otherwise null.</summary>
    public ulong? PeekTag(string field) =>
        Peek(field) == Lib.CborReaderState.Tag ? (ulong)Guard(field, reader.PeekTag) : null;

    public ulong ReadUnsigned(string field)
    {
        Expect(CborType.Unsigned, field);
        return Guard(field, reader.ReadUInt64);
    }

    /// <summary>A major type 0 or 1 integer that fits in a long.</summary>
    public long ReadInteger(string field)
    {
        var type = PeekType(field);
        if (type is not (CborType.Unsigned or CborType.Negative))
        {
            throw Wrong(field, "an integer", type);
        }

        try
        {
            return Guard(field, reader.ReadInt64);
        }
        catch (OverflowException)
        {
            throw new EvidenceFormatException(field, "integer out of range");
        }
    }

    public ReadOnlyMemory<byte> ReadBytes(string field)
    {
        Expect(CborType.Bytes, field);
        return Guard(field, reader.ReadDefiniteLengthByteString);
    }

    public string ReadText(string field)
    {
        Expect(CborType.Text, field);
        var bytes = Guard(field, reader.ReadDefiniteLengthTextStringBytes);
        try
        {
            return Strict.GetString(bytes.Span);
        }
        catch (DecoderFallbackException e)
        {
            throw new EvidenceFormatException(field, "text string is not valid UTF-8", e);
        }
    }

    /// <summary>The item count of an array; the library refuses a count above one item per byte left.</summary>
    public int ReadArray(string field)
    {
        Expect(CborType.Array, field);
        return Guard(field, reader.ReadStartArray) ?? throw Indefinite(field);
    }

    /// <summary>The pair count of a map; the library refuses a count above one pair per two bytes left.</summary>
    public int ReadMap(string field)
    {
        Expect(CborType.Map, field);
        return Guard(field, reader.ReadStartMap) ?? throw Indefinite(field);
    }

    public ulong ReadTag(string field)
    {
        Expect(CborType.Tag, field);
        return (ulong)Guard(field, reader.ReadTag);
    }

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
        if (Peek(field) != Lib.CborReaderState.Null)
        {
            return false;
        }

        Guard(field, reader.ReadNull);
        return true;
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

    /// <summary>
    /// Skips one whole data item (with everything nested in it) and returns its encoded bytes. Walked item by item
    /// rather than with the library's SkipValue, which has no depth limit and accepts indefinite lengths.
    /// </summary>
    public ReadOnlyMemory<byte> Skip(string field)
    {
        _ = Peek(field);
        var start = Position;
        var bottom = reader.CurrentDepth;
        var tags = 0; // a chain of tags nests like containers do
        while (true)
        {
            var state = Peek(field, settle: false);
            if (state is Lib.CborReaderState.StartArray or Lib.CborReaderState.StartMap)
            {
                Nest(reader.CurrentDepth - bottom + tags + 1, field);
                _ = state == Lib.CborReaderState.StartArray ? ReadArray(field) : ReadMap(field);
                tags = 0;
            }
            else if (state == Lib.CborReaderState.Tag)
            {
                Nest(reader.CurrentDepth - bottom + ++tags, field);
                _ = Guard(field, reader.ReadTag);
                continue;
            }
            else
            {
                Guard(field, () => reader.SkipValue());
                tags = 0;
            }

            Settle(field, bottom);
            if (reader.CurrentDepth == bottom)
            {
                return data[start..Position];
            }
        }
    }

    /// <summary>The encoded bytes from <paramref name="start"/> (an earlier <see cref="Position"/>) to here.</summary>
    public ReadOnlyMemory<byte> Since(int start) => data[start..Position];

    /// <summary>Fails unless every byte was read: trailing bytes after a signed or hashed structure are never ignored.</summary>
    public void ExpectEnd(string field)
    {
        Settle(field);
        if (!AtEnd)
        {
            throw new EvidenceFormatException(field, $"{Remaining} unexpected bytes after the data item");
        }
    }

    private static void Nest(int depth, string field)
    {
        if (depth > MaxDepth)
        {
            throw new EvidenceFormatException(field, $"nested deeper than {MaxDepth} levels");
        }
    }

    /// <summary>The next item's state, after consuming the ends of definite-length containers that are complete.</summary>
    private Lib.CborReaderState Peek(string field, bool settle = true)
    {
        if (settle)
        {
            Settle(field);
        }

        if (AtEnd)
        {
            throw new EvidenceFormatException(field, "truncated: no data item");
        }

        var state = Guard(field, reader.PeekState);
        return state is Lib.CborReaderState.StartIndefiniteLengthByteString or Lib.CborReaderState.StartIndefiniteLengthTextString
            ? throw Indefinite(field)
            : state;
    }

    private void Settle(string field, int bottom = 0)
    {
        while (reader.CurrentDepth > bottom)
        {
            switch (Guard(field, reader.PeekState))
            {
                case Lib.CborReaderState.EndArray:
                    Guard(field, reader.ReadEndArray);
                    break;
                case Lib.CborReaderState.EndMap:
                    Guard(field, reader.ReadEndMap);
                    break;
                default:
                    return;
            }
        }
    }

    private static CborType Type(Lib.CborReaderState state) => state switch
    {
        Lib.CborReaderState.UnsignedInteger => CborType.Unsigned,
        Lib.CborReaderState.NegativeInteger => CborType.Negative,
        Lib.CborReaderState.ByteString => CborType.Bytes,
        Lib.CborReaderState.TextString => CborType.Text,
        Lib.CborReaderState.StartArray => CborType.Array,
        Lib.CborReaderState.StartMap => CborType.Map,
        Lib.CborReaderState.Tag => CborType.Tag,
        _ => CborType.Simple,
    };

    private void Expect(CborType type, string field)
    {
        var actual = PeekType(field);
        if (actual != type)
        {
            throw Wrong(field, Describe(type), actual);
        }
    }

    private static EvidenceFormatException Wrong(string field, string expected, CborType actual) =>
        new(field, $"expected {expected}, found {Describe(actual)}");

    private static EvidenceFormatException Indefinite(string field) => new(field, "indefinite-length items are not accepted");

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

    private T Guard<T>(string field, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is Lib.CborContentException or InvalidOperationException)
        {
            throw Refused(field, e);
        }
    }

    private void Guard(string field, Action read) => Guard(field, () =>
    {
        read();
        return 0;
    });

    /// <summary>
    /// Why the library refused the item at the current position (it does not advance on a refusal), in the words of
    /// RFC 8949 §3: the initial byte's additional information, and the head's argument against the bytes left.
    /// </summary>
    private EvidenceFormatException Refused(string field, Exception e)
    {
        if (AtEnd)
        {
            return new(field, "truncated: no data item", e);
        }

        var span = data.Span[Position..];
        var initial = span[0];
        var additional = initial & 0x1F;
        if (additional is >= 28 and <= 30)
        {
            return new(field, $"reserved additional information {additional} in initial byte 0x{initial:x2}", e);
        }

        if (additional == 31)
        {
            return Indefinite(field);
        }

        var size = additional < 24 ? 0 : 1 << (additional - 24);
        if (span.Length < 1 + size)
        {
            return new(field, $"truncated: the item head needs {1 + size} bytes, {span.Length} remain", e);
        }

        var argument = size switch
        {
            0 => (ulong)additional,
            1 => span[1],
            2 => BinaryPrimitives.ReadUInt16BigEndian(span[1..]),
            4 => BinaryPrimitives.ReadUInt32BigEndian(span[1..]),
            _ => BinaryPrimitives.ReadUInt64BigEndian(span[1..]),
        };
        var left = span.Length - 1 - size;
        return (CborType)(initial >> 5) switch
        {
            CborType.Bytes or CborType.Text when argument > (ulong)left => new(field, $"declares {argument} bytes, only {left} remain", e),
            CborType.Array or CborType.Map when argument > (ulong)(left / (initial >> 5 == (int)CborType.Map ? 2 : 1)) =>
                new(field, $"declares {argument} entries, only {left} bytes remain", e),
            _ => new(field, "malformed CBOR: " + e.Message, e),
        };
    }
}
