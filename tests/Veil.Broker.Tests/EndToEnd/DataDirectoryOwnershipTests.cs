using System.Text;
using Veil.Broker.Hosting;
using Veil.Broker.Tests.Support;
using Veil.Protocol.Client;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>
/// A SQLite broker keeps its configuration version, sessions and nonces in memory. A second broker on the same data
/// directory would not see a policy the first one replaced, so it is refused at start for as long as the first serves.
/// A PostgreSQL store has no such limit (its replicas share state through the database), which the replica suites test.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DataDirectoryOwnershipTests
{
    [Fact]
    public async Task A_second_broker_on_the_same_SQLite_data_directory_is_refused_until_the_first_has_stopped()
    {
        await using var first = await TestBroker.StartAsync(allowSample: true);
        var secret = Encoding.UTF8.GetBytes("owned-" + Guid.NewGuid().ToString("N"));
        await first.PutResourceAsync("default/model/key", secret);

        var refused = await Assert.ThrowsAsync<BrokerConfigurationException>(() => TestBroker.StartAsync(allowSample: true, dataDir: first.DataDir));
        Assert.Contains($"--data-dir {first.DataDir} is in use by another broker", refused.Message, StringComparison.Ordinal);
        Assert.Contains("PostgreSQL", refused.Message, StringComparison.Ordinal);
        var lockFile = Path.Combine(first.DataDir, DataDirectoryLock.FileName);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(lockFile));
        Assert.Equal(0, new FileInfo(lockFile).Length);

        // The refused start left the first broker serving; once it has stopped, the next one starts and serves.
        Assert.Equal(secret, await ReleaseAsync(first));
        await first.DisposeAsync();
        await using var second = await TestBroker.StartAsync(allowSample: true, dataDir: first.DataDir);
        Assert.Equal(secret, await ReleaseAsync(second));
    }

    private static async Task<byte[]> ReleaseAsync(TestBroker broker)
    {
        using var http = broker.NewHttpClient();
        using var key = TeeKey.CreateEc();
        var guest = new KbsClient(http);
        await Handshake.SampleAsync(guest, key);
        return key.Decrypt(await guest.GetResourceAsync("default/model/key"));
    }
}
