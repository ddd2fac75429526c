namespace Veil.Attestation;

/// <summary>Hex text as it appears on command lines and in evidence files.</summary>
public static class Hex
{
    public static string Lower(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    /// <summary>Decodes hex with an optional <c>0x</c> prefix and surrounding whitespace.</summary>
    public static byte[] Parse(string text, string field)
    {
        var t = text.AsSpan().Trim();
        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            t = t[2..];
        }

        if (t.Length % 2 != 0)
        {
            throw new EvidenceFormatException(field, $"hex text has an odd number of digits ({t.Length})");
        }

        try
        {
            return Convert.FromHexString(t);
        }
        catch (FormatException)
        {
            throw new EvidenceFormatException(field, "not valid hex text");
        }
    }

    /// <summary>True when every byte is zero.</summary>
    public static bool IsZero(ReadOnlySpan<byte> bytes) => !bytes.ContainsAnyExcept((byte)0);
}
