using System.Diagnostics;
using System.Net;

namespace Veil.Broker.Tests.Support;

/// <summary>
/// Waits for <c>/readyz</c> as a kubelet's probe would. A PostgreSQL replica is ready only once its store answers and
/// its subscription to configuration changes is up; that subscription connects in the background after the start,
/// so on a loaded machine a replica serves its first requests before it says ready. Asserting readiness right after
/// the start races with it; this waits, bounded, and fails with the last answer.
/// </summary>
internal static class Readiness
{
    public static async Task UntilReadyAsync(HttpClient http, Uri broker, TimeSpan within, string failure)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            using var r = await http.GetAsync(new Uri(broker, "/readyz"));
            if (r.StatusCode == HttpStatusCode.OK)
            {
                return;
            }

            Assert.True(waited.Elapsed < within, $"{failure}: /readyz {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
            await Task.Delay(100);
        }
    }
}
