using Veil.Tests.Shared;

namespace Veil.Cli.Tests.Repository;

/// <summary>
/// scripts/test must end with why it failed: a new user saw "430 failed" and nothing saying that a prerequisite was
/// missing, because the quiet console output names no reasons. These run the real scripts on a PATH that lacks the
/// tools and whose apt-get refuses, and the failure report on TRX results.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class TestScriptTests
{
    [Fact]
    public void A_prerequisite_that_cannot_be_installed_is_named_at_the_end()
    {
        var bin = FakeBin(aptGetExit: 100);
        var (exit, stdout, stderr) = ChildProcess.Run("/bin/bash", ["scripts/test"], Vectors.RepoRoot, new Dictionary<string, string> { ["PATH"] = bin }, 60);
        Assert.Equal(2, exit);
        Assert.Contains("prereqs: could not install openssl", stderr, StringComparison.Ordinal);
        Assert.Contains("(apt-get exited 100); install them with: apt-get install openssl", stderr, StringComparison.Ordinal);
        Assert.Equal("tests: not run: a prerequisite is missing (named above)", stdout.TrimEnd().Split('\n')[^1]);
    }

    [Fact]
    public void A_missing_dotnet_sdk_is_named_once_the_packages_are_there()
    {
        // Every tool prereqs looks for, except dotnet, is on this PATH, so apt-get is never called.
        var bin = FakeBin(aptGetExit: 100, links: ["openssl", "lspci", "gcc", "age", "swtpm", "tpm2_createprimary", "softhsm2-util", "pkcs11-tool"]);
        var (exit, _, stderr) = ChildProcess.Run("/bin/bash", ["scripts/prereqs"], Vectors.RepoRoot, new Dictionary<string, string> { ["PATH"] = bin }, 60);
        Assert.Equal(2, exit);
        Assert.StartsWith("prereqs: the .NET 10 SDK (dotnet) is required", stderr.Trim(), StringComparison.Ordinal);
        Assert.DoesNotContain("apt-get", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void The_failure_report_names_each_failed_test_with_the_first_line_of_its_reason()
    {
        var dir = Directory.CreateTempSubdirectory("veil-trx-").FullName;
        File.WriteAllText(Path.Combine(dir, "a.trx"), Trx(("Veil.X.Passes", "Passed", ""), ("Veil.X.Needs_swtpm", "Failed", "swtpm not found on PATH\n   at Veil.X.Start()")));
        Directory.CreateDirectory(Path.Combine(dir, "sub"));
        File.WriteAllText(Path.Combine(dir, "sub", "b.trx"), Trx(("Veil.Y.Broken", "Failed", "Assert.Equal() Failure: Values differ")));
        var (exit, stdout, _) = ChildProcess.Run("/usr/bin/python3", [Path.Combine(Vectors.RepoRoot, "scripts", "test-report"), dir], dir);
        Assert.Equal(0, exit);
        Assert.Equal(
            ["FAILED Veil.X.Needs_swtpm: swtpm not found on PATH", "FAILED Veil.Y.Broken: Assert.Equal() Failure: Values differ"],
            stdout.TrimEnd().Split('\n'));

        var (_, capped, _) = ChildProcess.Run("/usr/bin/python3", [Path.Combine(Vectors.RepoRoot, "scripts", "test-report"), dir, "1"], dir);
        Assert.EndsWith($"... and 1 more failed tests (TRX files in {dir})", capped.TrimEnd(), StringComparison.Ordinal);
    }

    /// <summary>A PATH of the few coreutils the scripts need, the given real tools, and an apt-get that fails.</summary>
    private static string FakeBin(int aptGetExit, string[]? links = null)
    {
        var bin = Directory.CreateTempSubdirectory("veil-path-").FullName;
        foreach (var tool in new[] { "bash", "id", "dirname", "mktemp", "rm", "tee" }.Concat(links ?? []))
        {
            var real = new[] { "/usr/bin", "/bin", "/usr/sbin" }.Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);
            if (real is not null)
            {
                File.CreateSymbolicLink(Path.Combine(bin, tool), real);
            }
        }

        var aptGet = Path.Combine(bin, "apt-get");
        File.WriteAllText(aptGet, $"#!/bin/bash\necho 'E: Unable to locate package' >&2\nexit {aptGetExit}\n");
        File.SetUnixFileMode(aptGet, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return bin;
    }

    private static string Trx(params (string Name, string Outcome, string Message)[] results) =>
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<TestRun xmlns=\"http://microsoft.com/schemas/VisualStudio/TeamTest/2010\"><Results>" +
        string.Concat(results.Select(r =>
            $"<UnitTestResult testName=\"{r.Name}\" outcome=\"{r.Outcome}\">" +
            (r.Message.Length > 0 ? $"<Output><ErrorInfo><Message>{System.Security.SecurityElement.Escape(r.Message)}</Message></ErrorInfo></Output>" : "") +
            "</UnitTestResult>")) +
        "</Results></TestRun>";
}
