using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Veil.Broker.Storage;
using Veil.Broker.Tests.Support;
using Veil.Protocol.Client;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>A stored value whose bytes were changed under the broker is refused with a named 503, never released or a 500.</summary>
public class TamperedRowTests
{
    [Theory]
    [InlineData("format byte", "ResourceUnreadable")]
    [InlineData("wrapped data key", "ResourceUnreadable")]
    [InlineData("last ciphertext byte", "ResourceUnreadable")]
    [InlineData("key id", "MasterKeyUnavailable")] // then the row names a key this broker does not hold: still nothing released
    public async Task A_tampered_stored_value_answers_503_and_releases_nothing(string where, string kind)
    {
        await using var broker = await TestBroker.StartAsync(allowSample: true);
        var secret = Encoding.UTF8.GetBytes("tamper-" + Guid.NewGuid().ToString("N"));
        await broker.PutResourceAsync("default/model/tampered", secret);
        var store = broker.Services.GetRequiredService<IBrokerStore>();
        var row = (await store.GetResourceAsync("default/model/tampered", CancellationToken.None))!;
        // Envelope format 2: 02 | len(keyId) | keyId | len(wrapped) u16 | wrapped | nonce | tag | ciphertext.
        var offset = where switch
        {
            "format byte" => 0,
            "key id" => 2,
            "wrapped data key" => 2 + row[1] + 2 + 4,
            _ => row.Length - 1,
        };
        row[offset] ^= 0x01;
        await store.PutResourceAsync("default/model/tampered", row, DateTimeOffset.UtcNow, CancellationToken.None);

        using var http = broker.NewHttpClient();
        var client = new KbsClient(http);
        using var key = TeeKey.CreateEc();
        await Handshake.SampleAsync(client, key);
        var e = await Assert.ThrowsAsync<KbsClientException>(() => client.GetResourceAsync("default/model/tampered"));
        Assert.Equal((503, kind), (e.Status, e.Kind));
        Assert.Contains(kind == "ResourceUnreadable" ? "failed its integrity check" : "cannot be opened", e.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexString(secret), e.Detail, StringComparison.OrdinalIgnoreCase);

        // An untouched resource on the same broker still releases.
        await broker.PutResourceAsync("default/model/intact", secret);
        Assert.Equal(secret, key.Decrypt(await client.GetResourceAsync("default/model/intact")));
    }
}
