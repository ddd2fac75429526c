using System.Net;
using System.Text.Json;
using Veil.Broker.Tests.Support;
using Veil.Protocol.Client;
using Veil.Protocol.Messages;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>RSA tee-pubkeys the broker will not encrypt to are refused at /attest with a named 400 and no token.</summary>
public sealed class TeeKeyRuleTests
{
    [Fact]
    public async Task Invalid_rsa_tee_keys_are_400_InvalidTeePubKey_at_attest()
    {
        var logStart = LogCapture.Shared.Lines.Count;
        await using var broker = await TestBroker.StartAsync(allowSample: true);
        foreach (var (name, jwk, field, words) in Veil.Tests.Shared.InvalidRsaKeys.All())
        {
            using var http = broker.NewHttpClient();
            var client = new KbsClient(http);
            var challenge = await client.AuthAsync("sample");
            var attestation = new KbsAttestation(new RuntimeData(challenge.Nonce, jwk), new TeeEvidence(SampleAttester.Evidence(challenge.Nonce, jwk), ""));
            using var content = new ByteArrayContent(attestation.ToUtf8());
            using var r = await http.PostAsync(new Uri("kbs/v0/attest", UriKind.Relative), content);
            var body = await r.Content.ReadAsStringAsync();
            Assert.True(r.StatusCode == HttpStatusCode.BadRequest, $"{name}: {(int)r.StatusCode} {body}");
            using var doc = JsonDocument.Parse(body);
            Assert.Equal("InvalidTeePubKey", doc.RootElement.GetProperty("title").GetString());
            var detail = doc.RootElement.GetProperty("detail").GetString()!;
            Assert.True(detail.Contains("runtime-data." + field, StringComparison.Ordinal) && detail.Contains(words, StringComparison.Ordinal), $"{name}: {detail}");
        }

        // A valid RSA key still gets its resource.
        await broker.PutResourceAsync("default/model/rsa", "rsa-released-value"u8.ToArray());
        using var ok = broker.NewHttpClient();
        using var key = TeeKey.CreateRsa();
        Assert.Equal("rsa-released-value"u8.ToArray(), await new KbsClient(ok).GetWithSampleTeeAsync("default/model/rsa", key));
        Assert.DoesNotContain(LogCapture.Shared.Lines.Skip(logStart), l => l.Contains("   at ", StringComparison.Ordinal));
    }
}
