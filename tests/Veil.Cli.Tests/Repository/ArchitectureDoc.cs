using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Veil.Cli.Tests.Repository;

/// <summary>
/// What docs/architecture.md claims about the build, and what the .csproj files say: the project graph (the
/// mermaid block) and the library table. Each returns the differences as lines a reader can act on.
/// </summary>
internal static partial class ArchitectureDoc
{
    [GeneratedRegex(@"^\s*(\w+)\s*-->\s*(\w+)\s*$")]
    private static partial Regex Edge();

    /// <summary>"Broker --> Attestation" for every ProjectReference between src projects.</summary>
    public static SortedSet<string> ProjectEdges(string repoRoot)
    {
        var edges = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (name, project) in SrcProjects(repoRoot))
        {
            foreach (var reference in project.Descendants("ProjectReference"))
            {
                edges.Add($"{name} --> {Short(Path.GetFileNameWithoutExtension(reference.Attribute("Include")!.Value))}");
            }
        }

        return edges;
    }

    /// <summary>The edges of the first mermaid block, as the same text.</summary>
    public static SortedSet<string> DocEdges(string markdown)
    {
        var edges = new SortedSet<string>(StringComparer.Ordinal);
        var inBlock = false;
        foreach (var line in markdown.Split('\n'))
        {
            if (!inBlock && line.Trim() == "```mermaid")
            {
                inBlock = true;
            }
            else if (inBlock && line.Trim() == "```")
            {
                return edges;
            }
            else if (inBlock && Edge().Match(line) is { Success: true } m)
            {
                edges.Add($"{m.Groups[1].Value} --> {m.Groups[2].Value}");
            }
        }

        throw new FormatException("no complete ```mermaid block");
    }

    /// <summary>library → (version, projects) from every src project's PackageReference and FrameworkReference.</summary>
    public static SortedDictionary<string, string> Libraries(string repoRoot)
    {
        var versions = XDocument.Load(Path.Combine(repoRoot, "Directory.Packages.props")).Descendants("PackageVersion")
            .ToDictionary(p => p.Attribute("Include")!.Value, p => p.Attribute("Version")!.Value, StringComparer.Ordinal);
        var users = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var (name, project) in SrcProjects(repoRoot))
        {
            foreach (var reference in project.Descendants().Where(e => e.Name.LocalName is "PackageReference" or "FrameworkReference"))
            {
                var library = reference.Attribute("Include")!.Value;
                var version = reference.Name.LocalName == "FrameworkReference" ? "shared framework" : versions[library];
                var key = library + " | " + version;
                (users.TryGetValue(key, out var set) ? set : users[key] = new SortedSet<string>(StringComparer.Ordinal)).Add(name);
            }
        }

        return new SortedDictionary<string, string>(users.ToDictionary(kv => kv.Key, kv => string.Join(", ", kv.Value)), StringComparer.Ordinal);
    }

    /// <summary>"library | version" → "used by" from the table under "## Libraries".</summary>
    public static SortedDictionary<string, string> DocLibraries(string markdown)
    {
        var table = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var section = markdown.Split("\n## Libraries", 2);
        if (section.Length < 2)
        {
            throw new FormatException("no '## Libraries' section");
        }

        foreach (var line in section[1].Split("\n## ")[0].Split('\n').Where(l => l.StartsWith('|')))
        {
            var cells = line.Trim('|', ' ').Split('|').Select(c => c.Trim()).ToArray();
            if (cells.Length < 3 || cells[0] is "library" || cells[0].StartsWith("---", StringComparison.Ordinal))
            {
                continue;
            }

            var usedBy = cells[2].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal);
            table[cells[0] + " | " + cells[1]] = string.Join(", ", usedBy);
        }

        return table;
    }

    /// <summary>Lines of <paramref name="expected"/> missing from <paramref name="actual"/> ("+ ") and extra in it ("- ").</summary>
    public static List<string> Differences(IEnumerable<string> expected, IEnumerable<string> actual)
    {
        var e = expected.ToHashSet(StringComparer.Ordinal);
        var a = actual.ToHashSet(StringComparer.Ordinal);
        return [.. e.Except(a).Order(StringComparer.Ordinal).Select(x => "+ " + x), .. a.Except(e).Order(StringComparer.Ordinal).Select(x => "- " + x)];
    }

    public static IEnumerable<(string Name, XDocument Project)> SrcProjects(string repoRoot) =>
        Directory.GetFiles(Path.Combine(repoRoot, "src"), "*.csproj", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(f => (Short(Path.GetFileNameWithoutExtension(f)), XDocument.Load(f)));

    private static string Short(string projectName) => projectName.StartsWith("Veil.", StringComparison.Ordinal) ? projectName["Veil.".Length..] : projectName;
}
