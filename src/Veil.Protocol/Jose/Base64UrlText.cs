using System.Buffers.Text;

namespace Veil.Protocol.Jose;

/// <summary>base64url without padding (RFC 7515 §2), with decoding errors that name the field.</summary>
public static class Base64UrlText
{
    public static string Encode(ReadOnlySpan<byte> data) => Base64Url.EncodeToString(data);

    public static byte[] Decode(string? text, string field)
    {
        if (text is null)
        {
            throw new ProtocolFormatException(field, "missing");
        }

        if (text.Contains('=', StringComparison.Ordinal) || text.Contains('+', StringComparison.Ordinal) || text.Contains('/', StringComparison.Ordinal))
        {
            throw new ProtocolFormatException(field, "not base64url without padding");
        }

        try
        {
            return Base64Url.DecodeFromChars(text);
        }
        catch (FormatException)
        {
            throw new ProtocolFormatException(field, "not base64url without padding");
        }
    }
}
