using Veil.Broker.Keys;
using Veil.Broker.Soak;
using Veil.Broker.Tests.Support;

namespace Veil.Broker.Tests.Soak;

/// <summary>
/// The bounded form of the soak (./bench/run broker-soak is the long one): a real `veil broker serve` with its default
/// caps and rates, every attack of issue 16 replayed for three seconds from eight attacker addresses, legitimate
/// handshakes alongside. Asserted: no 500, the broker's RSS within 64 MiB of idle, the database (with its WAL, which
/// grows to about 4 MiB before SQLite checkpoints it) within 8 MiB of its size before, and every legitimate handshake succeeding. Latency is measured by the bench, not asserted here.
/// </summary>
public sealed class BrokerSoakTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private const long RssBound = 64L << 20;
    private const long DbBound = 8L << 20;

    private readonly string _dir = Directory.CreateTempSubdirectory("veil-soak-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Every_attack_at_once_leaves_memory_disk_and_legitimate_handshakes_within_bounds()
    {
        var dataDir = Path.Combine(_dir, "data");
        BrokerInit.Run(dataDir, TimeSpan.FromHours(1), TimeProvider.System);
        TestBroker.RegisterKeyFiles(dataDir);
        var logStart = LogCapture.Shared.Lines.Count;
        using var broker = VeilProcess.Start("broker", "serve", "--data-dir", dataDir, "--urls", "http://127.0.0.1:0", "--allow-sample", "--policy", "sample");
        var url = await broker.ListeningAsync();

        // ./bench/run broker-soak runs this same test for longer and reads the figures from VEIL_SOAK_REPORT.
        var seconds = Seconds("VEIL_SOAK_SECONDS", 3);
        var soak = new BrokerSoak(url, broker.Id, dataDir, TimeSpan.FromSeconds(seconds), attackers: 8, idlePhase: TimeSpan.FromSeconds(Math.Min(seconds, 20)));
        var report = await soak.RunAsync(CancellationToken.None);

        var what = report.Describe();
        output.WriteLine(what);
        if (Environment.GetEnvironmentVariable("VEIL_SOAK_REPORT") is { Length: > 0 } reportFile)
        {
            File.WriteAllText(reportFile, what + "\n" + report.Figures() + "\n");
        }

        Assert.True(report.ServerErrors == 0, what);
        Assert.True(report.LegitimateFailed == 0 && report.LegitimateOk > 0, what);
        Assert.True(report.RssGrowth < RssBound, what);
        Assert.True(report.DbGrowth < DbBound, what);
        Assert.True(report.Failures.Count == 0, what);
        // Each attack was answered only with the refusals it should get (0: the broker closed the connection, -2: still
        // in flight when its window closed; on a loaded machine a slow body or a 10 MB upload may outlast a window).
        var expected = new Dictionary<string, int[]>
        {
            ["session-flood"] = [200, 429],
            ["huge-tee"] = [413, 429, 0],
            ["metrics-scrape"] = [200],
            ["audit-path-flood"] = [401, 429],
            ["invalid-rsa-keys"] = [400, 429],
            ["chunked-10mb"] = [413, 429, 0],
            ["admin-token-edges"] = [401, 429],
            ["slow-body"] = [408, 429, 0],
        };
        foreach (var (attack, statuses) in report.StatusesByAttack)
        {
            Assert.True(statuses.Keys.All(s => s == -2 || expected[attack].Contains(s)), $"{attack}: {string.Join(",", statuses.Keys)}\n{what}");
        }

        Assert.True(report.StatusesByAttack.Count(a => a.Value.Keys.Any(s => s > 0)) >= 5, what);
        Assert.DoesNotContain(LogCapture.Shared.Lines.Skip(logStart), l => l.Contains("   at ", StringComparison.Ordinal));
    }

    private static int Seconds(string variable, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var s) && s is > 0 and <= 3600 ? s : fallback;
}
