using System.Globalization;
using System.Text;

namespace Veil.Broker.Problems;

/// <summary>
/// What of a caller's string an error answer, a log line or an audit row may repeat: a short prefix with every
/// character outside printable ASCII (and the quote and backslash) escaped, and the full length when cut. An
/// answer therefore never grows with the request, and a control character cannot forge a log line.
/// </summary>
internal static class CallerText
{
    public const int DefaultMax = 32;

    public static string Echo(string? value, int max = DefaultMax)
    {
        if (value is null)
        {
            return "";
        }

        var sb = new StringBuilder(Math.Min(value.Length, max) + 16);
        var i = 0;
        for (; i < value.Length && i < max; i++)
        {
            var c = value[i];
            if (c is >= ' ' and <= '~' and not '\'' and not '"' and not '\\')
            {
                sb.Append(c);
            }
            else
            {
                sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
        }

        if (i < value.Length)
        {
            sb.Append("…(").Append(value.Length.ToString(CultureInfo.InvariantCulture)).Append(" chars)");
        }

        return sb.ToString();
    }
}
