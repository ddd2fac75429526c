using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.Tdx.Parsing;

/// <summary>Quotes as operators have them: the raw bytes, hex text (with or without <c>0x</c>) or base64.</summary>
public static class TdxQuoteInput
{
    /// <summary>
    /// Text is decoded in one pass into one buffer that becomes the quote's own copy (<see cref="EvidenceText"/>), so a
    /// large input costs at most its decoded size on top of itself; raw bytes are parsed in place and only the quote's
    /// own bytes are copied.
    /// </summary>
    public static TdxQuote Parse(ReadOnlySpan<byte> input)
    {
        if (IsRaw(input))
        {
            return TdxQuote.Parse(input);
        }

        if (DecodeText(input) is var (buffer, length) && buffer is not null)
        {
            return TdxQuote.ParseOwned(buffer, length);
        }

        // Not text: binary that is not a v4/v5 header; the parser names what is wrong with it.
        return TdxQuote.Parse(input);
    }

    /// <summary>
    /// Raw bytes are recognised by their header (version 4 or 5 as a little-endian u16, which no hex or
    /// base64 text starts with); text is hex when every character is a hex digit or whitespace, else base64 (standard or URL).
    /// Always a new array, never the caller's.
    /// </summary>
    public static byte[] Decode(ReadOnlySpan<byte> input)
    {
        if (IsRaw(input))
        {
            return input.ToArray();
        }

        var (buffer, length) = DecodeText(input);
        if (buffer is null)
        {
            return input.ToArray();
        }

        return length == buffer.Length ? buffer : buffer.AsSpan(0, length).ToArray();
    }

    private static bool IsRaw(ReadOnlySpan<byte> input) => input.Length >= 2 && input[1] == 0 && input[0] is 4 or 5;

    /// <summary>
    /// The decoded text (buffer and length), or a null buffer when the input is binary (not a v4/v5 header; the parser
    /// then names what is wrong with it). Text that is neither hex nor base64 is "not a quote" rather than a binary
    /// quote with a bad header.
    /// </summary>
    private static (byte[]? Buffer, int Length) DecodeText(ReadOnlySpan<byte> input)
    {
        if (!EvidenceText.IsText(input))
        {
            return (null, 0);
        }

        var text = input.Trim(" \t\r\n"u8);
        if (text.IsEmpty)
        {
            throw new EvidenceFormatException("quote", "empty input");
        }

        return EvidenceText.TryDecode(text, "quote", out var buffer, out var length, out _)
            ? (buffer, length)
            : throw new EvidenceFormatException("quote",
                $"not a quote: {input.Length} bytes of text, neither hex nor base64, and a raw DCAP quote is binary, starting with version 4 or 5");
    }
}
