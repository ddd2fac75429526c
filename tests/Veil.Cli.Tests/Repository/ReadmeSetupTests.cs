using Veil.Tests.Shared;

namespace Veil.Cli.Tests.Repository;

/// <summary>
/// The README's two set-up commands: the test command is the one CI runs, and the quickstart warns about its first
/// silent build (a new user waited ~40 s with no output and thought it hung).
/// </summary>
public sealed class ReadmeSetupTests
{
    private static readonly string Section = File.ReadAllText(Path.Combine(Vectors.RepoRoot, "README.md"))
        .Split("\n## Set-up commands", 2)[1].Split("\n## ", 2)[0];

    [Fact]
    public void The_quickstart_says_its_first_run_builds_silently_and_how_to_watch()
    {
        var quickstart = Section.Split("```sh\ndotnet run --project src/Veil.Cli -c Release -- quickstart\n```", 2);
        Assert.Equal(2, quickstart.Length);
        var after = quickstart[1].Split("```", 2)[0];
        Assert.Contains("first run builds", after, StringComparison.Ordinal);
        Assert.Contains("prints nothing", after, StringComparison.Ordinal);
        Assert.Contains("-v n", after, StringComparison.Ordinal);
    }

    [Fact]
    public void The_test_command_is_what_ci_runs()
    {
        Assert.Contains("```sh\n./scripts/test\n```", Section, StringComparison.Ordinal);
        var ci = File.ReadAllLines(Path.Combine(Vectors.RepoRoot, ".ci", "run")).Where(l => l.Length > 0 && !l.StartsWith('#')).Last();
        Assert.Equal("exec ./scripts/test", ci);
    }
}
