using Veil.Broker.Tests.Support;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>
/// <c>veil broker serve</c> says once where it listens and with which policy: a new user saw the line twice, once
/// plain and once as a log entry, and could not tell whether two brokers had started.
/// </summary>
public class StartupLineTests
{
    [Fact]
    public async Task The_broker_announces_itself_once_with_its_policy_and_sample_setting()
    {
        var dataDir = Directory.CreateTempSubdirectory("veil-startup-").FullName;
        Veil.Broker.Keys.BrokerInit.Run(dataDir, TimeSpan.FromHours(1), TimeProvider.System);
        TestBroker.RegisterKeyFiles(dataDir);
        using var broker = VeilProcess.Start("broker", "serve", "--data-dir", dataDir, "--urls", "http://127.0.0.1:0", "--policy", "sample");
        var url = await broker.ListeningAsync();
        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal("ok\n", await http.GetStringAsync(new Uri("healthz", UriKind.Relative)));

        // The console logger writes on its own thread; give a second copy time to appear if there were one.
        await Task.Delay(TimeSpan.FromSeconds(1));
        var announcements = broker.Lines.Where(l => l.Contains("listening on", StringComparison.Ordinal)).ToList();
        var line = Assert.Single(announcements);
        Assert.StartsWith($"veil broker listening on {url.ToString().TrimEnd('/')}", line, StringComparison.Ordinal);
        Assert.Contains("sample TEE refused", line, StringComparison.Ordinal);
        Assert.Contains("attestation policy sample", line, StringComparison.Ordinal);
    }
}
