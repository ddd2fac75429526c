using System.Text.Unicode;

namespace Veil.Attestation;

/// <summary>
/// Hex and base64 text of binary evidence, decoded in one pass over the input bytes into one output buffer: no
/// string, no trimmed or filtered copy, so text of any size costs its decoded size (half or three quarters of it)
/// on top of the input. Hand-written because the framework's decoders want a string (Convert) or reject whitespace
/// and the URL alphabet (System.Buffers.Text.Base64).
/// </summary>
public static class EvidenceText
{
    private const sbyte Invalid = -1;
    private const sbyte Skip = -2;
    private const sbyte Pad = -3;

    private static readonly sbyte[] Base64Values = BuildBase64();

    /// <summary>True when <paramref name="text"/> is hex digits only (after an optional 0x): each pair one byte.</summary>
    public static bool IsHex(ReadOnlySpan<byte> text)
    {
        text = StripHexPrefix(text);
        foreach (var c in text)
        {
            if (HexValue(c) < 0)
            {
                return false;
            }
        }

        return !text.IsEmpty;
    }

    /// <summary>Decodes hex digits (an optional 0x first); throws naming <paramref name="field"/> when odd or not hex.</summary>
    public static byte[] DecodeHex(ReadOnlySpan<byte> text, string field)
    {
        text = StripHexPrefix(text);
        if (text.Length % 2 != 0)
        {
            throw new EvidenceFormatException(field, $"hex text has an odd number of digits ({text.Length})");
        }

        var output = new byte[text.Length / 2];
        for (var i = 0; i < output.Length; i++)
        {
            var hi = HexValue(text[2 * i]);
            var lo = HexValue(text[(2 * i) + 1]);
            if ((hi | lo) < 0)
            {
                throw new EvidenceFormatException(field, $"not valid hex text (offset {2 * i})");
            }

            output[i] = (byte)((hi << 4) | lo);
        }

        return output;
    }

    /// <summary>
    /// Decodes base64, standard or URL alphabet, with or without padding, ignoring ASCII whitespace anywhere.
    /// Returns false (and no buffer) at the first byte outside that alphabet or when the length is impossible.
    /// The buffer may be longer than the data: <paramref name="length"/> bytes of it are the decoded bytes.
    /// </summary>
    public static bool TryDecodeBase64(ReadOnlySpan<byte> text, out byte[] buffer, out int length)
    {
        buffer = [];
        length = 0;
        var output = new byte[(int)Math.Min(int.MaxValue, ((long)text.Length * 3 / 4) + 3)];
        int acc = 0, bits = 0, written = 0, pads = 0, digits = 0;
        foreach (var c in text)
        {
            var v = Base64Values[c];
            if (v >= 0)
            {
                if (pads > 0)
                {
                    return false; // data after padding
                }

                acc = (acc << 6) | (byte)v;
                bits += 6;
                digits++;
                if (bits >= 8)
                {
                    bits -= 8;
                    output[written++] = (byte)(acc >> bits);
                    acc &= (1 << bits) - 1;
                }
            }
            else if (v == Pad)
            {
                pads++;
            }
            else if (v != Skip)
            {
                return false;
            }
        }

        // A quantum of 4 digits is 3 bytes; a final partial quantum of 1 digit cannot be, and padding must complete it.
        var rest = digits % 4;
        if (digits == 0 || rest == 1 || pads > 2 || (pads > 0 && (rest + pads) % 4 != 0))
        {
            return false;
        }

        buffer = output;
        length = written;
        return true;
    }

    /// <summary>
    /// Printable UTF-8 with tabs and line breaks only. Real binary evidence always holds control bytes (zeros in its
    /// reserved fields and lengths), so it is never taken for text; a text file is then refused as "not a report"
    /// instead of being parsed as a truncated binary one.
    /// </summary>
    public static bool IsText(ReadOnlySpan<byte> input)
    {
        foreach (var b in input)
        {
            if ((b < 0x20 && b is not ((byte)'\t' or (byte)'\n' or (byte)'\r')) || b == 0x7F)
            {
                return false;
            }
        }

        return Utf8.IsValid(input);
    }

    /// <summary>"N bytes of text" or "N bytes of binary data", for messages.</summary>
    public static string Describe(ReadOnlySpan<byte> input) =>
        IsText(input) ? $"{input.Length} bytes of text" : $"{input.Length} bytes of binary data";

    /// <summary>
    /// Decodes hex (optional <c>0x</c>, whitespace and line breaks anywhere, as <c>xxd -p</c> writes it) or base64
    /// (standard or URL alphabet, padding optional), in one pass into one buffer; false when the text is neither.
    /// An odd number of hex digits is named as such (<paramref name="field"/>) rather than read as base64. The buffer
    /// may be longer than the <paramref name="length"/> decoded bytes.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> text, string field, out byte[] buffer, out int length, out string encoding)
    {
        var body = StripHexPrefix(text.Trim(" \t\r\n"u8));
        var digits = 0;
        var hex = !body.IsEmpty;
        foreach (var c in body)
        {
            if (HexValue(c) >= 0)
            {
                digits++;
            }
            else if (c is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                hex = false;
                break;
            }
        }

        if (hex)
        {
            if (digits % 2 != 0)
            {
                throw new EvidenceFormatException(field, $"hex text has an odd number of digits ({digits})");
            }

            buffer = new byte[digits / 2];
            length = 0;
            var high = -1;
            foreach (var c in body)
            {
                var v = HexValue(c);
                if (v < 0)
                {
                    continue;
                }

                if (high < 0)
                {
                    high = v;
                }
                else
                {
                    buffer[length++] = (byte)((high << 4) | v);
                    high = -1;
                }
            }

            encoding = "hex";
            return true;
        }

        // Base64 text as files and JSON carry it: line breaks but no spaces inside, and canonical (the bits after the
        // last whole byte are zero), so words such as "zz" or "hello world" are not taken for evidence.
        encoding = "base64";
        length = 0;
        buffer = [];
        var trimmed = text.Trim(" \t\r\n"u8);
        if (trimmed.IndexOfAny(" \t"u8) >= 0 || !TryDecodeBase64(trimmed, out buffer, out length))
        {
            return false;
        }

        var digits64 = 0;
        var last = -1;
        foreach (var c in trimmed)
        {
            if (Base64Values[c] >= 0)
            {
                digits64++;
                last = Base64Values[c];
            }
        }

        return (digits64 % 4) switch
        {
            2 => (last & 0x0F) == 0,
            3 => (last & 0x03) == 0,
            _ => true,
        };
    }

    /// <summary>As the out overload, as an exactly sized array with its encoding, or null.</summary>
    public static (byte[] Bytes, string Encoding)? TryDecode(ReadOnlySpan<byte> text, string field)
    {
        if (!TryDecode(text, field, out var buffer, out var length, out var encoding))
        {
            return null;
        }

        return (length == buffer.Length ? buffer : buffer.AsSpan(0, length).ToArray(), encoding);
    }

    /// <summary>As <see cref="TryDecodeBase64"/>, as an exactly sized array, or null.</summary>
    public static byte[]? DecodeBase64OrNull(ReadOnlySpan<byte> text)
    {
        if (!TryDecodeBase64(text, out var buffer, out var length))
        {
            return null;
        }

        return length == buffer.Length ? buffer : buffer.AsSpan(0, length).ToArray();
    }

    private static ReadOnlySpan<byte> StripHexPrefix(ReadOnlySpan<byte> text) =>
        text.Length >= 2 && text[0] == '0' && (text[1] | 0x20) == 'x' ? text[2..] : text;

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };

    private static sbyte[] BuildBase64()
    {
        var t = new sbyte[256];
        Array.Fill(t, Invalid);
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        for (var i = 0; i < alphabet.Length; i++)
        {
            t[alphabet[i]] = (sbyte)i;
        }

        t['+'] = t['-'] = 62;
        t['/'] = t['_'] = 63;
        t['='] = Pad;
        t[' '] = t['\t'] = t['\r'] = t['\n'] = Skip;
        return t;
    }
}
