using System.Globalization;
using System.Text;

namespace Veil.Measure.InitData;

/// <summary>
/// The <c>[data]</c> table of a Confidential Containers init-data document: file name → file text
/// (<c>"aa.toml"</c>, <c>"cdh.toml"</c>, <c>"policy.rego"</c>, or an operator's own keys such as
/// <c>image_digest</c>). After the document's digest has been matched against SNP HOST_DATA or TDX MRCONFIGID,
/// these become the <c>init_data.*</c> claims.
/// </summary>
/// <remarks>
/// No TOML library is available here, so this reads only what init-data uses: string values (basic,
/// literal and their multi-line forms) under <c>[data]</c>. Anything else there is a named error rather than
/// a guess; other tables are skipped. The digest never depends on this parser — it is over the raw bytes.
/// </remarks>
public static class InitDataDocument
{
    public static IReadOnlyDictionary<string, string> ParseData(byte[] toml)
    {
        ArgumentNullException.ThrowIfNull(toml);
        var text = Encoding.UTF8.GetString(toml).Replace("\r\n", "\n", StringComparison.Ordinal);
        var data = new Dictionary<string, string>(StringComparer.Ordinal);
        var inData = false;
        var i = 0;
        var line = 1;
        while (i < text.Length)
        {
            SkipBlank(text, ref i, ref line);
            if (i >= text.Length)
            {
                break;
            }

            if (text[i] == '[')
            {
                var end = text.IndexOf('\n', i);
                var header = (end < 0 ? text[i..] : text[i..end]).Split('#')[0].Trim();
                inData = header == "[data]";
                i = end < 0 ? text.Length : end;
                continue;
            }

            var keyLine = line;
            var key = ReadKey(text, ref i, line);
            SkipSpaces(text, ref i);
            if (i >= text.Length || text[i] != '=')
            {
                throw new MeasureException($"initdata:{keyLine}", $"expected '=' after key '{key}'");
            }

            i++;
            SkipSpaces(text, ref i);
            if (inData)
            {
                var value = ReadString(text, ref i, ref line, key);
                if (!data.TryAdd(key, value))
                {
                    throw new MeasureException($"initdata:{keyLine}", $"duplicate key '{key}' in [data]");
                }
            }
            else
            {
                // Outside [data] only simple values occur (algorithm, version); strings are read so that their
                // content cannot be mistaken for structure.
                if (i < text.Length && text[i] is '"' or '\'')
                {
                    ReadString(text, ref i, ref line, key);
                }
                else
                {
                    while (i < text.Length && text[i] != '\n')
                    {
                        i++;
                    }
                }
            }

            SkipSpaces(text, ref i);
            if (i < text.Length && text[i] == '#')
            {
                while (i < text.Length && text[i] != '\n')
                {
                    i++;
                }
            }

            if (i < text.Length && text[i] != '\n')
            {
                throw new MeasureException($"initdata:{line}", "unexpected text after the value");
            }
        }

        return data;
    }

    private static void SkipSpaces(string t, ref int i)
    {
        while (i < t.Length && t[i] is ' ' or '\t')
        {
            i++;
        }
    }

    private static void SkipBlank(string t, ref int i, ref int line)
    {
        while (i < t.Length)
        {
            if (t[i] == '\n')
            {
                line++;
                i++;
            }
            else if (t[i] is ' ' or '\t')
            {
                i++;
            }
            else if (t[i] == '#')
            {
                while (i < t.Length && t[i] != '\n')
                {
                    i++;
                }
            }
            else
            {
                return;
            }
        }
    }

    private static string ReadKey(string t, ref int i, int line)
    {
        if (t[i] is '"' or '\'')
        {
            var l = line;
            return ReadString(t, ref i, ref l, "key");
        }

        var start = i;
        while (i < t.Length && (char.IsAsciiLetterOrDigit(t[i]) || t[i] is '_' or '-'))
        {
            i++;
        }

        return i > start ? t[start..i] : throw new MeasureException($"initdata:{line}", "expected a key");
    }

    private static string ReadString(string t, ref int i, ref int line, string key)
    {
        var at = line;
        if (Starts(t, i, "'''") || Starts(t, i, "\"\"\""))
        {
            var delim = t.Substring(i, 3);
            i += 3;
            if (i < t.Length && t[i] == '\n')
            {
                i++; // A newline right after the opening delimiter is trimmed.
                line++;
            }

            var sb = new StringBuilder();
            while (true)
            {
                if (i >= t.Length)
                {
                    throw new MeasureException($"initdata:{at}", $"unterminated multi-line string for '{key}'");
                }

                if (Starts(t, i, delim) && !Starts(t, i + 1, delim))
                {
                    i += 3;
                    return sb.ToString();
                }

                if (delim == "\"\"\"" && t[i] == '\\')
                {
                    if (i + 1 < t.Length && t[i + 1] == '\n')
                    {
                        // Line-ending backslash: drop the newline and leading whitespace of the next line.
                        i++;
                        while (i < t.Length && t[i] is ' ' or '\t' or '\n')
                        {
                            line += t[i] == '\n' ? 1 : 0;
                            i++;
                        }

                        continue;
                    }

                    sb.Append(Escape(t, ref i, at, key));
                    continue;
                }

                line += t[i] == '\n' ? 1 : 0;
                sb.Append(t[i++]);
            }
        }

        var quote = i < t.Length ? t[i] : '\0';
        if (quote is not ('"' or '\''))
        {
            throw new MeasureException($"initdata:{at}", $"value of '{key}' in [data] must be a string");
        }

        i++;
        var s = new StringBuilder();
        while (true)
        {
            if (i >= t.Length || t[i] == '\n')
            {
                throw new MeasureException($"initdata:{at}", $"unterminated string for '{key}'");
            }

            if (t[i] == quote)
            {
                i++;
                return s.ToString();
            }

            s.Append(quote == '"' && t[i] == '\\' ? Escape(t, ref i, at, key) : t[i++].ToString());
        }
    }

    private static string Escape(string t, ref int i, int line, string key)
    {
        if (i + 1 >= t.Length)
        {
            throw new MeasureException($"initdata:{line}", $"dangling escape in '{key}'");
        }

        var c = t[i + 1];
        i += 2;
        switch (c)
        {
            case 'n': return "\n";
            case 't': return "\t";
            case 'r': return "\r";
            case 'b': return "\b";
            case 'f': return "\f";
            case '"': return "\"";
            case '\\': return "\\";
            case 'u' or 'U':
                var n = c == 'u' ? 4 : 8;
                if (i + n > t.Length || !int.TryParse(t.AsSpan(i, n), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var cp) || cp > 0x10FFFF || cp is >= 0xD800 and <= 0xDFFF)
                {
                    throw new MeasureException($"initdata:{line}", $"bad \\{c} escape in '{key}'");
                }

                i += n;
                return char.ConvertFromUtf32(cp);
            default:
                throw new MeasureException($"initdata:{line}", $"unknown escape \\{c} in '{key}'");
        }
    }

    private static bool Starts(string t, int i, string s) => i >= 0 && i + s.Length <= t.Length && string.CompareOrdinal(t, i, s, 0, s.Length) == 0;
}
