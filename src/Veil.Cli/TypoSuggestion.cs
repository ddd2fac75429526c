using System.CommandLine;

namespace Veil.Cli;

/// <summary>
/// "did you mean" for a mistyped verb or option. System.CommandLine's own ParseErrorAction also suggests, but for
/// every unmatched token (so the arguments after a mistyped verb get suggestions of their own, such as '-h'), on
/// stdout, with exit code 1, and no public API returns its candidates; so the nearest name is found here, for the
/// first unmatched token only, among what the command reached at that point accepts.
/// </summary>
internal static class TypoSuggestion
{
    /// <summary>One line naming the unknown token and its nearest known name, or null when none is near.</summary>
    public static string? For(ParseResult parse)
    {
        if (parse.UnmatchedTokens.Count == 0)
        {
            return null;
        }

        var token = parse.UnmatchedTokens[0];
        var command = parse.CommandResult.Command;
        var isOption = token.StartsWith('-');
        var candidates = isOption
            ? command.Options.Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name))
            : command.Subcommands.Where(c => !c.Hidden).SelectMany(c => c.Aliases.Prepend(c.Name));
        var best = candidates
            .Select(c => (Name: c, Distance: Distance(token, c)))
            .Where(c => c.Distance <= Math.Max(1, c.Name.Length / 3))
            .OrderBy(c => c.Distance).ThenBy(c => c.Name, StringComparer.Ordinal)
            .FirstOrDefault();
        if (best.Name is null)
        {
            return null;
        }

        var path = CommandPath(parse);
        return isOption
            ? $"{path}: unknown option '{token}'; did you mean '{best.Name}'?"
            : $"{path}: unknown command '{token}'; did you mean '{best.Name}'?";
    }

    /// <summary>"veil verify snp": the command the parser reached, as the user would type it.</summary>
    public static string CommandPath(ParseResult parse) => string.Join(" ", Path(parse.CommandResult).Prepend("veil"));

    private static List<string> Path(System.CommandLine.Parsing.CommandResult result)
    {
        var names = new List<string>();
        for (var r = result; r?.Parent is System.CommandLine.Parsing.CommandResult parent; r = parent)
        {
            names.Insert(0, r.Command.Name);
        }

        return names;
    }

    /// <summary>Optimal string alignment distance: Levenshtein plus one for a swap of neighbours ("verfiy").</summary>
    internal static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
