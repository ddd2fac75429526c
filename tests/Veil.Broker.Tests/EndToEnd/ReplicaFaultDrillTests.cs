using Veil.Broker.Tests.Drills;
using Veil.Broker.Tests.Support;
using Xunit.Abstractions;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>
/// The bounded fault drill (the long one is ./bench/run broker-replicas-faults): three `veil broker serve` processes
/// on one PostgreSQL, 64 concurrent guests whose auth, attest and resource each go to a different replica, admin
/// writes in parallel, one replica killed with SIGKILL and restarted, PostgreSQL restarted as after a crash.
/// </summary>
public sealed class ReplicaFaultDrillTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Three_replicas_under_64_guests_survive_a_kill_9_and_a_postgres_crash_restart()
    {
        await using var db = await PostgresTestServer.CreateDatabaseAsync();
        var dataDir = Directory.CreateTempSubdirectory("veil-drill-").FullName;
        Veil.Broker.Keys.BrokerInit.Run(dataDir, TimeSpan.FromDays(1), TimeProvider.System);
        TestBroker.RegisterKeyFiles(dataDir);
        try
        {
            var drill = new ReplicaFaultDrill(VeilProcess.VeilDll, dataDir, db.Url, PostgresTestServer.Restart, LogCapture.Shared.Add);
            var report = await drill.RunAsync(new DrillOptions(), CancellationToken.None);
            output.WriteLine(report.Summary);
            Console.WriteLine(report.Summary);

            Assert.True(report.Failures.Count == 0, string.Join("; ", report.Failures) + "\n" + report.Summary);
            Assert.Equal(64, report.GuestsDone);
            Assert.True(report.Releases >= 64 * 3, report.Summary);
            Assert.Contains(report.Faults, f => f.StartsWith("kill -9 replica", StringComparison.Ordinal));
            Assert.Contains(report.Faults, f => f.StartsWith("PostgreSQL restarted", StringComparison.Ordinal));
            // The invariants were exercised, not vacuous: replays and probes were sent and refused, writes acknowledged.
            Assert.True(report.ReplaysRefused >= 64 * 3, report.Summary);
            Assert.True(report.UnattestedProbesRefused > 64, report.Summary);
            Assert.True(report.AdminWritesAcknowledged > 10, report.Summary);
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }
}
