using System.Globalization;

namespace Veil.Policy.Claims;

/// <summary>Comparison and display of claim values (string, long, bool, string list) by their catalogue type.</summary>
public static class ClaimValues
{
    /// <summary>How a value is shown in explanations: booleans as true/false, lists in brackets.</summary>
    public static string Format(object? value) => value switch
    {
        null => "absent",
        bool b => b ? "true" : "false",
        string s => s,
        IEnumerable<string> list => "[" + string.Join(", ", list) + "]",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>The actual value converted to the catalogue type, or null when it has another shape.</summary>
    public static object? Coerce(object value, ClaimType type) => type switch
    {
        ClaimType.Boolean => value as bool?,
        ClaimType.Number => value switch
        {
            long l => l,
            int i => (long)i,
            uint u => (long)u,
            _ => null,
        },
        ClaimType.Hex => value is string h ? Normalize(h) : null,
        ClaimType.Text or ClaimType.Version => value as string,
        ClaimType.StringList => value switch
        {
            IReadOnlyList<string> list => list,
            IEnumerable<string> e => e.ToList(),
            _ => null,
        },
        _ => null,
    };

    public static bool AreEqual(object actual, object expected, ClaimType type) => type switch
    {
        ClaimType.StringList => actual is IReadOnlyList<string> a && expected is IReadOnlyList<object> e
            && a.ToHashSet(StringComparer.Ordinal).SetEquals(e.Select(x => (string)x)),
        ClaimType.Version => CompareVersionText((string)actual, (string)expected) == 0,
        _ => actual.Equals(expected),
    };

    /// <summary>
    /// Compares two dotted versions, or null when either is not one. If either has a hex letter (VBIOS
    /// versions such as 96.00.9F.00.01) both are read as hex, so the two sides always use the same base.
    /// </summary>
    public static int? CompareVersionText(string a, string b)
    {
        var hex = HasHexLetter(a) || HasHexLetter(b);
        return ParseVersion(a, hex) is { } x && ParseVersion(b, hex) is { } y ? CompareVersions(x, y) : null;
    }

    /// <summary>Splits a dotted version into numbers (decimal, or hex when it has hex letters).</summary>
    public static long[]? ParseVersion(string text) => ParseVersion(text, HasHexLetter(text));

    private static bool HasHexLetter(string text) => text.Any(char.IsAsciiLetter);

    private static long[]? ParseVersion(string text, bool hex)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var parts = text.Trim().Split('.');
        var result = new long[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (parts[i].Length is 0 or > 16
                || !long.TryParse(parts[i], hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None, CultureInfo.InvariantCulture, out result[i]))
            {
                return null;
            }
        }

        return result;
    }

    /// <summary>Component-wise comparison; missing trailing components count as zero.</summary>
    public static int CompareVersions(long[] a, long[] b)
    {
        for (var i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            var x = i < a.Length ? a[i] : 0;
            var y = i < b.Length ? b[i] : 0;
            if (x != y)
            {
                return x.CompareTo(y);
            }
        }

        return 0;
    }

    private static string Normalize(string hex)
    {
        var t = hex.Trim();
        return (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? t[2..] : t).ToLowerInvariant();
    }
}
