using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using Veil.Broker.Secrets;
using Veil.Broker.Tests.Storage;
using Veil.Broker.Tests.Support;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>
/// <c>veil broker serve</c> in its own process takes a burst of concurrent admin writes and is killed with SIGKILL
/// mid-burst; after restart every write that was answered 2xx must be there with its exact value.
/// </summary>
public class KillNineDurabilityTests
{
    [Fact]
    public async Task Every_acknowledged_write_survives_kill_9()
    {
        var dataDir = Directory.CreateTempSubdirectory("veil-kill9-").FullName;
        Veil.Broker.Keys.BrokerInit.Run(dataDir, TimeSpan.FromDays(1), TimeProvider.System);
        TestBroker.RegisterKeyFiles(dataDir);
        var adminToken = File.ReadAllText(Path.Combine(dataDir, "admin.token")).Trim();

        var acknowledged = new ConcurrentDictionary<string, string>();
        var attempted = 0;
        using (var broker = VeilProcess.Start("broker", "serve", "--data-dir", dataDir, "--urls", "http://127.0.0.1:0", "--policy", "sample"))
        {
            var url = await broker.ListeningAsync();
            using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(10) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
            using var stop = new CancellationTokenSource();

            async Task Writer(int w)
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var name = $"burst/w{w}/r{i}";
                    var value = $"value-{w}-{i}-{Guid.NewGuid():N}";
                    Interlocked.Increment(ref attempted);
                    try
                    {
                        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(value));
                        using var r = await http.PostAsync(new Uri("kbs/v0/resource/" + name, UriKind.Relative), content);
                        if (r.IsSuccessStatusCode)
                        {
                            acknowledged[name] = value;
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        return; // the server died under us: this write was never acknowledged
                    }
                }
            }

            var writers = Enumerable.Range(0, 8).Select(Writer).ToList();
            while (acknowledged.Count < 150)
            {
                await Task.Delay(10);
            }

            broker.KillHard();
            await stop.CancelAsync();
            await Task.WhenAll(writers);
        }

        Assert.True(acknowledged.Count >= 150, $"only {acknowledged.Count} writes acknowledged before the kill");
        foreach (var (name, value) in acknowledged)
        {
            SecretLedger.Add("resource " + name, value);
        }

        // Restart the real server on the same data directory, then check through a fresh store handle too.
        using (var again = VeilProcess.Start("broker", "serve", "--data-dir", dataDir, "--urls", "http://127.0.0.1:0", "--policy", "sample"))
        {
            var url = await again.ListeningAsync();
            using var http = new HttpClient { BaseAddress = url };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
            var listed = await http.GetStringAsync(new Uri("veil/v0/resources", UriKind.Relative));
            foreach (var name in acknowledged.Keys)
            {
                Assert.Contains("\"" + name + "\"", listed, StringComparison.Ordinal);
            }
        }

        await using var store = await SqliteBrokerStoreHandle.OpenAsync(dataDir);
        using var master = MasterKey.Load(dataDir, _ => null);
        foreach (var (name, value) in acknowledged)
        {
            var sealedValue = await store.Store.GetResourceAsync(name, CancellationToken.None);
            Assert.NotNull(sealedValue);
            using var opened = await master.OpenAsync(sealedValue, name, CancellationToken.None);
            Assert.Equal(value, Encoding.UTF8.GetString(opened.Span));
        }

        Assert.True(attempted >= acknowledged.Count);
        Directory.Delete(dataDir, recursive: true);
    }
}
