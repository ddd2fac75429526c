using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Unicode;

namespace Veil.Attestation;

/// <summary>
/// Evidence given as text (hex or base64, as files and JSON carry it) told from raw binary evidence, so that a file
/// that is neither is refused as "not a report" instead of being parsed as a truncated binary one.
/// </summary>
internal static class EvidenceText
{
    private static readonly SearchValues<byte> HexDigits = SearchValues.Create("0123456789abcdefABCDEF"u8);

    /// <summary>
    /// Printable UTF-8 with tabs and line breaks only. Real binary evidence always holds control bytes (zeros in its
    /// reserved fields and lengths), so it is never taken for text.
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
    /// Decodes hex (optional <c>0x</c>, spaces and line breaks anywhere, as <c>xxd -p</c> writes it) or base64
    /// (standard or URL alphabet, padding optional, line breaks but no spaces); null when the text is neither.
    /// An odd number of hex digits is named as such (<paramref name="field"/>) rather than read as base64.
    /// </summary>
    public static (byte[] Bytes, string Encoding)? TryDecode(ReadOnlySpan<byte> text, string field)
    {
        var hex = Strip(text, " \t\r\n"u8);
        if (hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            hex = hex[2..];
        }

        if (hex.Length > 0 && !Encoding.ASCII.GetBytes(hex).AsSpan().ContainsAnyExcept(HexDigits))
        {
            return hex.Length % 2 == 0
                ? (Convert.FromHexString(hex), "hex")
                : throw new EvidenceFormatException(field, $"hex text has an odd number of digits ({hex.Length})");
        }

        var b64 = Strip(text, "\r\n"u8).Replace('-', '+').Replace('_', '/');
        b64 = b64.PadRight(b64.Length + ((4 - (b64.Length % 4)) % 4), '=');
        return b64.Length > 0 && Base64.IsValid(b64) ? (Convert.FromBase64String(b64), "base64") : null;
    }

    private static string Strip(ReadOnlySpan<byte> text, ReadOnlySpan<byte> drop)
    {
        var kept = new StringBuilder(text.Length);
        foreach (var b in text)
        {
            if (!drop.Contains(b))
            {
                kept.Append((char)b);
            }
        }

        return kept.ToString();
    }
}
