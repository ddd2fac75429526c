using System.Net;
using System.Text;
using Microsoft.Data.Sqlite;
using Veil.Broker.Storage;
using Veil.Broker.Tests.Support;
using Veil.Protocol.Client;
using Veil.Protocol.Messages;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>
/// The embedded store's file failing under a running broker (here: its bytes replaced, as a broken disk or a bad
/// restore leaves it; SQLite answers SQLITE_NOTADB, the same path as a full disk or an I/O error): requests that need
/// the store answer 503 with Retry-After and release nothing, never 500; /readyz says not ready and why; once the
/// file is good again the broker serves by itself.
/// </summary>
public sealed class SqliteStoreFaultTests
{
    [Fact]
    public async Task A_store_file_that_fails_under_a_running_broker_answers_503_not_500_and_it_serves_again_once_the_file_is_good()
    {
        await using var broker = await TestBroker.StartAsync(allowSample: true);
        var secret = Encoding.UTF8.GetBytes("sqlite-fault-" + Guid.NewGuid().ToString("N"));
        await broker.PutResourceAsync("default/model/key", secret);
        using var http = broker.NewHttpClient();
        using var key = TeeKey.CreateEc();
        var guest = new KbsClient(http);
        var (_, token) = await Handshake.SampleAsync(guest, key);
        var midway = await guest.AuthAsync("sample"); // sessions live in memory: /auth still works during the fault

        // Closing every connection folds the WAL into the file, so the file alone is the whole store.
        SqliteConnection.ClearAllPools();
        var file = Path.Combine(broker.DataDir, SqliteBrokerStore.FileName);
        var good = await File.ReadAllBytesAsync(file);
        await File.WriteAllBytesAsync(file, Enumerable.Repeat((byte)0x42, good.Length).ToArray());

        using var admin = broker.NewAdminClient();
        using var bare = broker.NewHttpClient();
        var attempts = new (string What, Func<Task<HttpResponseMessage>> Send)[]
        {
            ("attest (its audit row cannot be written)", () => http.PostAsync(new Uri("kbs/v0/attest", UriKind.Relative), new ByteArrayContent(Handshake.SampleAttestation(midway.Nonce, key).ToUtf8()))),
            ("resource by bearer token", () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Get, new Uri("kbs/v0/resource/default/model/key", UriKind.Relative));
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
                return bare.SendAsync(request);
            }),
            ("admin put", () => admin.PostAsync(new Uri("kbs/v0/resource/default/model/other", UriKind.Relative), new ByteArrayContent([1, 2, 3]))),
            ("admin list", () => admin.GetAsync(new Uri("veil/v0/resources", UriKind.Relative))),
        };
        foreach (var (what, send) in attempts)
        {
            using var r = await send();
            await StoreUnavailableAnswer.AssertAsync(r, what, broker.DataDir);
        }

        await Task.Delay(1100); // /readyz reuses an answer for a second
        using (var ready = await http.GetAsync(new Uri("readyz", UriKind.Relative)))
        {
            var why = await ready.Content.ReadAsStringAsync();
            Assert.True(ready.StatusCode == HttpStatusCode.ServiceUnavailable, $"/readyz: {(int)ready.StatusCode} {why}");
            Assert.Contains("not a database", why, StringComparison.Ordinal);
        }

        using (var live = await http.GetAsync(new Uri("livez", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }

        // The file restored: nothing restarted, and the broker serves again (a new handshake; the refused one's nonce
        // may have been spent, nonces are single use).
        await File.WriteAllBytesAsync(file, good);
        await Readiness.UntilReadyAsync(http, broker.Url, TimeSpan.FromSeconds(30), "the broker did not become ready again once its store file was good");
        Assert.Equal(secret, key.Decrypt(await new KbsClient(bare).GetResourceAsync("default/model/key", token)));
        Assert.Equal(secret, await new KbsClient(broker.NewHttpClient()).GetWithSampleTeeAsync("default/model/key", key));
    }
}
