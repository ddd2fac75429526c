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
    public void The_failure_report_names_each_failed_test_with_its_reason_and_the_test_lines_of_its_stack()
    {
        var dir = Directory.CreateTempSubdirectory("veil-trx-").FullName;
        var stack = string.Join('\n',
            "   at Xunit.Assert.Equal[T](T expected, T actual) in /_/src/xunit.assert/Asserts/EqualityAsserts.cs:line 123",
            "   at Veil.Y.Tests.Broken() in /check/work/main/tests/Veil.Y.Tests/BrokenTests.cs:line 35",
            "--- End of stack trace from previous location ---",
            "   at Veil.Y.Tests.Broken() in /check/work/main/tests/Veil.Y.Tests/BrokenTests.cs:line 35",
            "   at Veil.Y.Tests.Helper() in /check/work/main/tests/Veil.Y.Tests/Support/Helper.cs:line 7",
            "   at Veil.Y.Service.Run() in /check/work/main/src/Veil.Y/Service.cs:line 9");
        File.WriteAllText(Path.Combine(dir, "a.trx"), Trx(("Veil.X.Passes", "Passed", "", ""), ("Veil.X.Needs_swtpm", "Failed", "swtpm not found on PATH", "")));
        Directory.CreateDirectory(Path.Combine(dir, "sub"));
        File.WriteAllText(Path.Combine(dir, "sub", "b.trx"), Trx(
            ("Veil.Y.Broken", "Failed", "Assert.Equal() Failure: Values differ\nExpected: OK\nActual:   ServiceUnavailable", stack),
            ("Veil.Y.Long", "Failed", string.Join('\n', Enumerable.Range(1, 12).Select(i => "line " + i)), "")));
        var (exit, stdout, _) = ChildProcess.Run("/usr/bin/python3", [Path.Combine(Vectors.RepoRoot, "scripts", "test-report"), dir], dir);
        Assert.Equal(0, exit);
        Assert.Equal(
            [
                "FAILED Veil.X.Needs_swtpm: swtpm not found on PATH",
                "FAILED Veil.Y.Broken: Assert.Equal() Failure: Values differ",
                "    Expected: OK",
                "    Actual:   ServiceUnavailable",
                "    at tests/Veil.Y.Tests/BrokenTests.cs:35",
                "    at tests/Veil.Y.Tests/Support/Helper.cs:7",
                "FAILED Veil.Y.Long: line 1",
                .. Enumerable.Range(2, 7).Select(i => "    line " + i),
            ],
            stdout.TrimEnd().Split('\n'));

        var (_, capped, _) = ChildProcess.Run("/usr/bin/python3", [Path.Combine(Vectors.RepoRoot, "scripts", "test-report"), dir, "1"], dir);
        Assert.EndsWith($"... and 2 more failed tests (TRX files in {dir})", capped.TrimEnd(), StringComparison.Ordinal);
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

    private static string Trx(params (string Name, string Outcome, string Message, string Stack)[] results) =>
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<TestRun xmlns=\"http://microsoft.com/schemas/VisualStudio/TeamTest/2010\"><Results>" +
        string.Concat(results.Select(r =>
            $"<UnitTestResult testName=\"{r.Name}\" outcome=\"{r.Outcome}\">" +
            (r.Message.Length > 0
                ? $"<Output><ErrorInfo><Message>{System.Security.SecurityElement.Escape(r.Message)}</Message><StackTrace>{System.Security.SecurityElement.Escape(r.Stack)}</StackTrace></ErrorInfo></Output>"
                : "") +
            "</UnitTestResult>")) +
        "</Results></TestRun>";
}
