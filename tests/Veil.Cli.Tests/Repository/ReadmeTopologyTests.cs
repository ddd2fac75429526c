using Veil.Tests.Shared;

namespace Veil.Cli.Tests.Repository;

/// <summary>
/// The README's topology examples run on the tree in testdata/topology: each `veil topology …` command of its
/// topology section, run as written from the repository root, succeeds and prints every line of the output shown
/// under it ("…" stands for lines left out).
/// </summary>
public sealed class ReadmeTopologyTests
{
    /// <summary>(command line, lines shown) for each sh block of the section followed by a text block.</summary>
    internal static List<(string Command, List<string> Shown)> Examples(string readme)
    {
        var section = readme.Split("\n## Plan GPU placement", 2)[1].Split("\n## ", 2)[0];
        var blocks = new List<(string Lang, List<string> Lines)>();
        List<string>? current = null;
        foreach (var line in section.Split('\n'))
        {
            if (current is null && line.StartsWith("```", StringComparison.Ordinal) && line.Length > 3)
            {
                current = [];
                blocks.Add((line[3..].Trim(), current));
            }
            else if (current is not null && line == "```")
            {
                current = null;
            }
            else
            {
                current?.Add(line);
            }
        }

        var examples = new List<(string, List<string>)>();
        for (var i = 0; i + 1 < blocks.Count; i++)
        {
            if (blocks[i].Lang == "sh" && blocks[i + 1].Lang == "text" && blocks[i].Lines is [var command] && command.Contains("testdata/", StringComparison.Ordinal))
            {
                examples.Add((command, blocks[i + 1].Lines.Where(l => l != "…").ToList()));
            }
        }

        return examples;
    }

    [Fact]
    public void The_readme_shows_a_scan_and_a_plan_of_the_testdata_tree()
    {
        var examples = Examples(File.ReadAllText(Path.Combine(Vectors.RepoRoot, "README.md")));
        Assert.Equal(2, examples.Count);
        Assert.StartsWith("veil topology scan --sysfs testdata/topology/hgx-h100-8gpu", examples[0].Command, StringComparison.Ordinal);
        Assert.StartsWith("veil topology plan --sysfs testdata/topology/hgx-h100-8gpu", examples[1].Command, StringComparison.Ordinal);
        Assert.All(examples, e => Assert.True(e.Shown.Count >= 3));
    }

    [Fact]
    public void Each_readme_example_runs_as_written_and_prints_what_it_shows()
    {
        // The veil the tests were built with, started as its own process in the repository root, as a user would.
        var veilDll = Path.Combine(AppContext.BaseDirectory, "veil.dll");
        foreach (var (command, shown) in Examples(File.ReadAllText(Path.Combine(Vectors.RepoRoot, "README.md"))))
        {
            var words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal("veil", words[0]);
            var (exit, stdout, stderr) = ChildProcess.Run("dotnet", [veilDll, .. words[1..]], Vectors.RepoRoot, timeoutSeconds: 120);
            Assert.True(exit == 0, $"{command}: exit {exit}\n{stderr}");
            Assert.Equal("", stderr);
            var printed = stdout.Split('\n').Select(l => l.TrimEnd()).ToHashSet(StringComparer.Ordinal);
            foreach (var line in shown)
            {
                Assert.True(printed.Contains(line.TrimEnd()), $"{command}: the README shows a line it does not print: '{line}'");
            }
        }
    }
}
