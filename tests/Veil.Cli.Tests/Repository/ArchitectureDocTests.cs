using Veil.Tests.Shared;

namespace Veil.Cli.Tests.Repository;

/// <summary>docs/architecture.md describes the build as the .csproj files define it, so it cannot drift.</summary>
public sealed class ArchitectureDocTests
{
    private static readonly string Doc = File.ReadAllText(Path.Combine(Vectors.RepoRoot, "docs", "architecture.md"));

    [Fact]
    public void The_dependency_graph_is_the_project_references()
    {
        var differences = ArchitectureDoc.Differences(ArchitectureDoc.ProjectEdges(Vectors.RepoRoot), ArchitectureDoc.DocEdges(Doc));
        Assert.True(differences.Count == 0, "docs/architecture.md's mermaid block differs from src/*/*.csproj (+ add, - remove):\n" + string.Join('\n', differences));
        Assert.True(ArchitectureDoc.ProjectEdges(Vectors.RepoRoot).Count >= 10);
    }

    [Fact]
    public void Every_project_has_its_row()
    {
        foreach (var (name, _) in ArchitectureDoc.SrcProjects(Vectors.RepoRoot))
        {
            Assert.Contains($"\n| `{name}` |", Doc, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_library_table_is_the_package_references_at_their_pinned_versions()
    {
        var expected = ArchitectureDoc.Libraries(Vectors.RepoRoot).Select(kv => kv.Key + " | " + kv.Value);
        var documented = ArchitectureDoc.DocLibraries(Doc).Select(kv => kv.Key + " | " + kv.Value);
        var differences = ArchitectureDoc.Differences(expected, documented);
        Assert.True(differences.Count == 0, "docs/architecture.md's library table differs from the csproj files (library | version | used by; + add, - remove):\n" + string.Join('\n', differences));
    }

    [Fact]
    public void A_missing_edge_or_a_stale_version_is_caught()
    {
        var withoutEdge = Doc.Replace("  Guest --> Sealing\n", "", StringComparison.Ordinal);
        Assert.Equal(["+ Guest --> Sealing"], ArchitectureDoc.Differences(ArchitectureDoc.ProjectEdges(Vectors.RepoRoot), ArchitectureDoc.DocEdges(withoutEdge)));

        var stale = Doc.Replace("| YamlDotNet | 16.3.0 |", "| YamlDotNet | 16.2.0 |", StringComparison.Ordinal);
        var differences = ArchitectureDoc.Differences(
            ArchitectureDoc.Libraries(Vectors.RepoRoot).Select(kv => kv.Key + " | " + kv.Value),
            ArchitectureDoc.DocLibraries(stale).Select(kv => kv.Key + " | " + kv.Value));
        Assert.Equal(["+ YamlDotNet | 16.3.0 | Bridge, Broker, Kubernetes, Policy", "- YamlDotNet | 16.2.0 | Bridge, Broker, Kubernetes, Policy"], differences);
    }
}
