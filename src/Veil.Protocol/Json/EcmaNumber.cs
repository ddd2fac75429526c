using System.Globalization;
using System.Text;

namespace Veil.Protocol.Json;

/// <summary>
/// Formats an IEEE 754 double the way ECMAScript's Number.prototype.toString does (ECMA-262 §7.1.12.1),
/// which RFC 8785 §3.2.2.3 requires. .NET's "R" format already yields the shortest round-trip digits;
/// only the placement of the decimal point and exponent differs, so that is all this class does.
/// </summary>
internal static class EcmaNumber
{
    public static string Format(double value)
    {
        if (double.IsNaN(value) || double.IsInfinity(value))
        {
            throw new ProtocolFormatException("(number)", "NaN and Infinity are not valid JSON numbers");
        }

        if (value == 0)
        {
            return "0"; // also for -0, as ECMAScript does
        }

        var negative = value < 0;
        var r = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        var exponent = 0;
        var e = r.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            exponent = int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            r = r[..e];
        }

        var dot = r.IndexOf('.', StringComparison.Ordinal);
        var intPart = dot >= 0 ? r[..dot] : r;
        var fracPart = dot >= 0 ? r[(dot + 1)..] : "";
        var digits = intPart + fracPart;
        var n = intPart.Length + exponent; // decimal point position relative to the first digit
        var lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0')
        {
            lead++;
        }

        digits = digits[lead..];
        n -= lead;
        digits = digits.TrimEnd('0');
        var k = digits.Length;

        var sb = new StringBuilder(32);
        if (negative)
        {
            sb.Append('-');
        }

        if (k <= n && n <= 21)
        {
            sb.Append(digits).Append('0', n - k);
        }
        else if (0 < n && n <= 21)
        {
            sb.Append(digits, 0, n).Append('.').Append(digits, n, k - n);
        }
        else if (-6 < n && n <= 0)
        {
            sb.Append("0.").Append('0', -n).Append(digits);
        }
        else
        {
            var exp = n - 1;
            sb.Append(digits[0]);
            if (k > 1)
            {
                sb.Append('.').Append(digits, 1, k - 1);
            }

            sb.Append('e').Append(exp < 0 ? '-' : '+').Append(Math.Abs(exp).ToString(CultureInfo.InvariantCulture));
        }

        return sb.ToString();
    }
}
