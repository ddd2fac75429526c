using System.IO.Compression;
using System.Reflection;
using System.Text.RegularExpressions;
using Veil.Tests.Shared;

namespace Veil.Cli.Tests.Repository;

/// <summary>
/// `dotnet pack src/Veil.Cli` makes the .NET tool package Veil.Cli, and `dotnet tool install` of it from a local
/// folder, with no other package source, gives a working `veil` (as the README shows).
/// </summary>
public sealed partial class ToolPackageTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "veil-tool-" + Guid.NewGuid().ToString("N")[..12]);

    public ToolPackageTests() => Directory.CreateDirectory(_dir);

    [GeneratedRegex(@"<Version>([^<]+)</Version>")]
    private static partial Regex VersionElement();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Pack_then_install_from_the_folder_gives_a_veil_that_runs()
    {
        var version = VersionElement().Match(File.ReadAllText(Path.Combine(Vectors.RepoRoot, "Directory.Build.props"))).Groups[1].Value;
        // The CLI was built in this configuration as this project's dependency; pack reuses that build.
        var configuration = typeof(ToolPackageTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        var packages = Path.Combine(_dir, "packages");
        var pack = ChildProcess.Run("dotnet", ["pack", Path.Combine(Vectors.RepoRoot, "src", "Veil.Cli"), "-c", configuration, "--no-build", "-nologo", "-v:q", "-o", packages], Vectors.RepoRoot);
        Assert.True(pack.Exit == 0, "dotnet pack failed:\n" + pack.Out + pack.Err);

        var nupkg = Path.Combine(packages, $"Veil.Cli.{version}.nupkg");
        Assert.True(File.Exists(nupkg), "no " + Path.GetFileName(nupkg) + " in " + string.Join(", ", Directory.GetFiles(packages).Select(Path.GetFileName)));
        using (var zip = ZipFile.OpenRead(nupkg))
        {
            var settings = zip.Entries.Single(e => e.FullName.EndsWith("/DotnetToolSettings.xml", StringComparison.Ordinal));
            using var stream = settings.Open();
            var command = System.Xml.Linq.XDocument.Load(stream).Descendants("Command").Single();
            Assert.Equal("veil", command.Attribute("Name")?.Value);
            Assert.Equal("veil.dll", command.Attribute("EntryPoint")?.Value);
            Assert.Contains(zip.Entries, e => e.FullName.EndsWith("/veil.dll", StringComparison.Ordinal));
        }

        // Only the folder as a source, and a package cache of its own: nothing comes from a feed or a stale copy.
        var config = Path.Combine(_dir, "nuget.config");
        File.WriteAllText(config, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="veil" value="{packages}" />
              </packageSources>
            </configuration>
            """);
        var tools = Path.Combine(_dir, "tools");
        var env = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(_dir, "nuget-cache") };
        var install = ChildProcess.Run("dotnet", ["tool", "install", "Veil.Cli", "--version", version, "--tool-path", tools, "--configfile", config], _dir, env);
        Assert.True(install.Exit == 0, "dotnet tool install failed:\n" + install.Out + install.Err);

        var veil = Path.Combine(tools, "veil");
        var run = ChildProcess.Run(veil, ["--version"], _dir);
        Assert.Equal(0, run.Exit);
        Assert.StartsWith(version, run.Out.Trim(), StringComparison.Ordinal);

        // And a real verification through the installed tool: the README's Genoa example.
        var snp = Vectors.Path("TEE-Attestation-Verification", "tests-test_data");
        var verify = ChildProcess.Run(veil, ["verify", "snp", "--report", Path.Combine(snp, "genoa_attestation_report.bin"), "--vcek", Path.Combine(snp, "genoa_vcek.pem"), "--at", "2026-03-01T00:00:00Z"], _dir);
        Assert.True(verify.Exit == 0, verify.Out + verify.Err);
        Assert.Contains("snp.measurement", verify.Out, StringComparison.Ordinal);
    }
}
