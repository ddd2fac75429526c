namespace Veil.Cli.Tests;

/// <summary>The README's first command, run in CI: every step must behave, and nothing is left behind.</summary>
public class QuickstartTests
{
    [Fact]
    public void Quickstart_restores_the_demo_model_and_shows_both_refusals()
    {
        var keep = Path.Combine(Path.GetTempPath(), "veil-qs-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (exit, output, err) = CliRunner.Run("quickstart", "--keep", keep);
            Assert.True(exit == 0, output + err);
            Assert.Equal(3, output.Split('\n').Count(l => l.Contains("digests equal", StringComparison.Ordinal)));
            Assert.Contains("refused (ChunkAuthenticationFailed)", output);
            Assert.Contains("files left in", output);
            Assert.Matches("5\\. evidence reporting sample svn 0: broker answered 401 PolicyDeny: .*sample\\.svn: expected match of .*, actual 0 \\(rule sample-svn-supported, sample\\.yaml:\\d+\\)", output);
            Assert.Matches("6\\. evidence bound to an earlier challenge: broker answered 401 AttestationFailed: report data mismatch", output);
            Assert.Contains("lists exactly the files of", output);
            Veil.Tests.Shared.Trees.AssertEqual(Path.Combine(keep, "demo-model"), Path.Combine(keep, "restored"));
            Assert.False(Directory.Exists(Path.Combine(keep, "restored-from-tampered")));
        }
        finally
        {
            Directory.Delete(keep, recursive: true);
        }
    }

    [Fact]
    public void Quickstart_without_keep_leaves_no_temp_folder()
    {
        var before = Directory.GetDirectories(Path.GetTempPath(), "veil-quickstart-*").ToHashSet();
        var (exit, output, err) = CliRunner.Run("quickstart");
        Assert.True(exit == 0, output + err);
        Assert.DoesNotContain(Directory.GetDirectories(Path.GetTempPath(), "veil-quickstart-*"), d => !before.Contains(d));
    }
}
