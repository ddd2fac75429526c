using Veil.Tests.Shared;

namespace Veil.Cli.Tests.Repository;

/// <summary>
/// The README's bridge section uses a sample trace under testdata/bridge: its `veil bridge predict` example, run as
/// written from the repository root, succeeds and prints every line shown under it. So the sample cannot be moved,
/// dropped or stop parsing without this failing, and the numbers shown cannot drift from what the model says.
/// </summary>
public sealed class ReadmeBridgeTests
{
    [Fact]
    public void The_readme_predicts_the_shipped_sample_trace_and_shows_what_it_prints()
    {
        var readme = File.ReadAllText(Path.Combine(Vectors.RepoRoot, "README.md"));
        var section = readme.Split("\n## Model what GPU confidential computing", 2)[1].Split("\n## ", 2)[0];
        var blocks = section.Split("```").Where((_, i) => i % 2 == 1).ToList(); // the fenced blocks' bodies
        var at = blocks.FindIndex(b => b.StartsWith("sh\nveil bridge predict --trace testdata/bridge/", StringComparison.Ordinal));
        Assert.True(at >= 0 && at + 1 < blocks.Count && blocks[at + 1].StartsWith("text\n", StringComparison.Ordinal), "no predict example on a testdata/bridge trace followed by its output");
        var command = blocks[at].Split('\n')[1];
        var shown = blocks[at + 1].Split('\n').Skip(1).Where(l => l.Length > 0).ToList();
        Assert.True(shown.Count >= 3);

        var words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(File.Exists(Path.Combine(Vectors.RepoRoot, words[Array.IndexOf(words, "--trace") + 1])));
        var veilDll = Path.Combine(AppContext.BaseDirectory, "veil.dll");
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
