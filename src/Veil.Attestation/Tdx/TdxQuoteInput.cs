using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Veil.Attestation.Tdx;

/// <summary>Quotes as operators have them: the raw bytes, hex text (with or without <c>0x</c>) or base64.</summary>
public static class TdxQuoteInput
{
    private static readonly SearchValues<byte> HexDigits = SearchValues.Create("0123456789abcdefABCDEF"u8);

    public static TdxQuote Parse(ReadOnlySpan<byte> input) => TdxQuote.ParseOwned(Decode(input));

    /// <summary>
    /// Raw bytes are recognised by their header (version 4 or 5 as a little-endian u16, which no hex or
    /// base64 text starts with); text is hex when every character is a hex digit, else base64 (standard or URL).
    /// Always a new array, never the caller's: <see cref="Parse"/> keeps it as the quote's private copy.
    /// </summary>
    public static byte[] Decode(ReadOnlySpan<byte> input)
    {
        if (input.Length >= 2 && input[1] == 0 && input[0] is 4 or 5)
        {
            return input.ToArray();
        }

        var text = input.Trim(" \t\r\n"u8);
        if (text.IsEmpty)
        {
            throw new EvidenceFormatException("quote", "empty input");
        }

        var hex = text.StartsWith("0x"u8) || text.StartsWith("0X"u8) ? text[2..] : text;
        if (!hex.IsEmpty && !hex.ContainsAnyExcept(HexDigits))
        {
            return Hex.Parse(Encoding.ASCII.GetString(hex), "quote");
        }

        // Latin-1 maps every byte to one char, so binary input simply fails the base64 alphabet check.
        var s = string.Concat(Encoding.Latin1.GetString(text).Where(c => !char.IsWhiteSpace(c))).Replace('-', '+').Replace('_', '/');
        s = s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '=');
        if (!Base64.IsValid(s))
        {
            // Not text: binary that is not a v4/v5 header; the parser names what is wrong with it.
            return input.ToArray();
        }

        return Convert.FromBase64String(s);
    }
}
