namespace Veil.Cli.Tests;

public class UsageTests
{
    [Fact]
    public void Unknown_verb_is_usage_error_with_exit_2()
    {
        var (exit, _, err) = CliRunner.Run("no-such-verb");
        Assert.Equal(2, exit);
        Assert.Contains("no-such-verb", err);
    }

    [Theory]
    [InlineData(new[] { "verfy", "snp" }, "veil: unknown command 'verfy'; did you mean 'verify'?")]
    [InlineData(new[] { "verfiy" }, "veil: unknown command 'verfiy'; did you mean 'verify'?")]
    [InlineData(new[] { "unseel", "x.sealed" }, "veil: unknown command 'unseel'; did you mean 'unseal'?")]
    [InlineData(new[] { "verify", "snpp", "--report", "r" }, "veil verify: unknown command 'snpp'; did you mean 'snp'?")]
    [InlineData(new[] { "verify", "snp", "--report", "r", "--vcke", "v" }, "veil verify snp: unknown option '--vcke'; did you mean '--vcek'?")]
    [InlineData(new[] { "topology", "sacn" }, "veil topology: unknown command 'sacn'; did you mean 'scan'?")]
    public void A_mistyped_verb_or_option_gets_the_nearest_name_and_nothing_else(string[] args, string line)
    {
        var (exit, stdout, err) = CliRunner.Run(args);
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        var lines = err.TrimEnd().Split('\n');
        Assert.Equal(line, lines[0]);
        Assert.Equal(2, lines.Length); // no "Required command was not provided", no complaint about the tokens after it
        Assert.StartsWith("Run 'veil", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public void The_usage_hint_names_the_command_reached()
    {
        var (_, _, err) = CliRunner.Run("verify", "snp", "--ouput", "json", "--report", "r");
        Assert.EndsWith("Run 'veil verify snp --help' for usage.", err.TrimEnd(), StringComparison.Ordinal);
    }

    [Fact]
    public void Nothing_near_is_reported_as_before_without_a_guess()
    {
        var (exit, _, err) = CliRunner.Run("zzzzzz");
        Assert.Equal(2, exit);
        Assert.DoesNotContain("did you mean", err, StringComparison.Ordinal);
        Assert.Contains("Unrecognized command or argument 'zzzzzz'", err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("verify", "verify", 0)]
    [InlineData("verfy", "verify", 1)]
    [InlineData("verfiy", "verify", 1)]
    [InlineData("", "abc", 3)]
    [InlineData("kitten", "sitting", 3)]
    public void Distance_counts_edits_and_neighbour_swaps(string a, string b, int distance) =>
        Assert.Equal(distance, TypoSuggestion.Distance(a, b));
}
