using System.Text.RegularExpressions;

namespace Veil.Cli.Tests.Repository;

/// <summary>Relative links of a Markdown file that do not lead to a file or folder inside the repository.</summary>
internal static partial class DocLinks
{
    // [text](target) and ![alt](target); the target ends at the first blank or closing parenthesis.
    [GeneratedRegex(@"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+""[^""]*"")?\s*\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"^[a-zA-Z][a-zA-Z0-9+.-]*:")]
    private static partial Regex Scheme();

    /// <summary>Every relative link target of <paramref name="markdown"/> outside fenced code blocks.</summary>
    public static IEnumerable<string> RelativeTargets(string markdown)
    {
        var fenced = false;
        foreach (var line in markdown.Split('\n'))
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                fenced = !fenced;
                continue;
            }

            if (fenced)
            {
                continue;
            }

            foreach (Match m in Link().Matches(line))
            {
                var target = m.Groups[1].Value;
                if (!Scheme().IsMatch(target) && !target.StartsWith('#'))
                {
                    yield return target;
                }
            }
        }
    }

    /// <summary>The targets of <paramref name="file"/> that resolve to nothing, or to something outside <paramref name="repoRoot"/>.</summary>
    public static List<string> Broken(string file, string repoRoot)
    {
        var root = Path.GetFullPath(repoRoot).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        var broken = new List<string>();
        foreach (var target in RelativeTargets(File.ReadAllText(file)))
        {
            var path = Uri.UnescapeDataString(target.Split('#')[0]);
            var full = Path.GetFullPath(path.StartsWith('/') ? Path.Combine(root, path.TrimStart('/')) : Path.Combine(Path.GetDirectoryName(file)!, path));
            if (!full.StartsWith(root, StringComparison.Ordinal) || !(File.Exists(full) || Directory.Exists(full)))
            {
                broken.Add(target);
            }
        }

        return broken;
    }
}
