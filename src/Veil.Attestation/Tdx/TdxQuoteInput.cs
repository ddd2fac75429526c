namespace Veil.Attestation.Tdx;

/// <summary>Quotes as operators have them: the raw bytes, hex text (with or without <c>0x</c>) or base64.</summary>
public static class TdxQuoteInput
{
    public static TdxQuote Parse(ReadOnlySpan<byte> input) => TdxQuote.ParseOwned(Decode(input));

    /// <summary>
    /// Raw bytes are recognised by their header (version 4 or 5 as a little-endian u16, which no hex or
    /// base64 text starts with); text is hex when every character is a hex digit, else base64 (standard or URL);
    /// text that is neither is "not a quote" rather than a binary quote with a bad header.
    /// Always a new array, never the caller's: <see cref="Parse"/> keeps it as the quote's private copy.
    /// </summary>
    public static byte[] Decode(ReadOnlySpan<byte> input)
    {
        if (input.Length >= 2 && input[1] == 0 && input[0] is 4 or 5)
        {
            return input.ToArray();
        }

        if (!EvidenceText.IsText(input))
        {
            // Binary that is not a v4/v5 header; the parser names what is wrong with it.
            return input.ToArray();
        }

        var text = input.Trim(" \t\r\n"u8);
        if (text.IsEmpty)
        {
            throw new EvidenceFormatException("quote", "empty input");
        }

        return EvidenceText.TryDecode(text, "quote")?.Bytes
            ?? throw new EvidenceFormatException("quote",
                $"not a quote: {input.Length} bytes of text, neither hex nor base64, and a raw DCAP quote is binary, starting with version 4 or 5");
    }
}
