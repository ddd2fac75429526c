using Veil.Broker.Hosting;
using Veil.Broker.Keys;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>The data directory is created 0700 and a broker refuses one that group or others can open.</summary>
public sealed class DataDirectoryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("veil-datadir-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Init_creates_0700_and_a_group_or_world_readable_directory_is_refused_with_the_fix()
    {
        var dir = Path.Combine(_root, "data");
        BrokerInit.Run(dir, TimeSpan.FromMinutes(5), TimeProvider.System);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dir));

        foreach (var mode in new[] { 0b111_101_101, 0b111_111_000, 0b111_000_001 })
        {
            File.SetUnixFileMode(dir, (UnixFileMode)mode);
            var e = await Assert.ThrowsAsync<BrokerConfigurationException>(() => BrokerHost.StartAsync(
                new BrokerOptions { DataDir = dir, Urls = ["http://127.0.0.1:0"], AllowSample = true, Policy = "sample" }, CancellationToken.None));
            Assert.Equal($"--data-dir {dir} is open to group or others (mode 0{Convert.ToString(mode, 8)}); it holds the broker's keys: run 'chmod 700 {dir}'", e.Message);
        }

        File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await using var host = await BrokerHost.StartAsync(new BrokerOptions { DataDir = dir, Urls = ["http://127.0.0.1:0"], AllowSample = true, Policy = "sample" }, CancellationToken.None);
        Assert.NotEmpty(host.Addresses);
    }
}
