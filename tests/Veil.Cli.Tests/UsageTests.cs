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
}
