using Veil.Tests.Shared;

namespace Veil.Cli.Tests.Repository;

/// <summary>The README and docs/ link only to files inside the repository, and each of those exists.</summary>
public sealed class DocLinkTests
{
    public static TheoryData<string> Documents()
    {
        var data = new TheoryData<string>("README.md");
        foreach (var f in Directory.GetFiles(Path.Combine(Vectors.RepoRoot, "docs"), "*.md", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetRelativePath(Vectors.RepoRoot, f));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void Every_relative_link_resolves_to_a_file_in_the_repository(string document)
    {
        var broken = DocLinks.Broken(Path.Combine(Vectors.RepoRoot, document), Vectors.RepoRoot);
        Assert.True(broken.Count == 0, $"{document}: links to nothing in the repository: {string.Join(", ", broken)}");
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void Nothing_points_outside_the_repository(string document)
    {
        var text = File.ReadAllText(Path.Combine(Vectors.RepoRoot, document));
        Assert.DoesNotContain("../shared", text, StringComparison.Ordinal);
    }

    [Fact]
    public void The_readme_links_the_architecture_doc()
    {
        Assert.Contains("docs/architecture.md", DocLinks.RelativeTargets(File.ReadAllText(Path.Combine(Vectors.RepoRoot, "README.md"))));
    }

    [Fact]
    public void A_broken_or_escaping_link_is_caught_and_urls_anchors_and_code_are_not_links()
    {
        var dir = Path.Combine(Path.GetTempPath(), "veil-links-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(dir, "docs"));
        try
        {
            File.WriteAllText(Path.Combine(dir, "docs", "here.md"), "x");
            var doc = Path.Combine(dir, "README.md");
            File.WriteAllText(doc, """
                [ok](docs/here.md) [ok too](docs/here.md#part) [dir](docs/) [web](https://example.org/x.md) [anchor](#top)
                [gone](docs/gone.md) ![img](pic.png) [out](../outside.md) [mail](mailto:a@b.c)
                ```sh
                echo "[not a link](nowhere.md)"
                ```
                """);
            Assert.Equal(["docs/gone.md", "pic.png", "../outside.md"], DocLinks.Broken(doc, dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
