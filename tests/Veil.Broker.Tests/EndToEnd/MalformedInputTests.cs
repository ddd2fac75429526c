using System.Net;
using System.Text;
using Veil.Broker.Tests.Support;
using Veil.Protocol.Client;
using Veil.Protocol.Messages;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>Bad bodies get a typed 4xx problem naming the field, never a 500 and never a release.</summary>
public class MalformedInputTests
{
    [Fact]
    public async Task Truncated_and_random_attestation_bodies_are_4xx_problems()
    {
        await using var broker = await TestBroker.StartAsync(allowSample: false);
        using var key = TeeKey.CreateEc();
        var rng = new Random(55);
        var valid = Handshake.SnpAttestation("AAAA", key).ToUtf8();
        var bodies = new List<byte[]>();
        for (var len = 0; len < valid.Length; len += valid.Length / 25)
        {
            bodies.Add(valid[..len]);
        }

        for (var i = 0; i < 20; i++)
        {
            var junk = new byte[rng.Next(1, 2000)];
            rng.NextBytes(junk);
            bodies.Add(junk);
        }

        foreach (var body in bodies)
        {
            using var http = broker.NewHttpClient();
            var challenge = await new KbsClient(http).AuthAsync("snp");
            using var content = new ByteArrayContent(body);
            using var r = await http.PostAsync(new Uri("kbs/v0/attest", UriKind.Relative), content);
            Assert.True(r.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Unauthorized, $"status {(int)r.StatusCode} for a {body.Length}-byte body");
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType!.MediaType);
            Assert.NotNull(challenge);
        }
    }

    [Fact]
    public async Task Malformed_snp_evidence_is_a_named_denial()
    {
        await using var broker = await TestBroker.StartAsync(allowSample: false);
        using var http = broker.NewHttpClient();
        var client = new KbsClient(http);
        using var key = TeeKey.CreateEc();
        var challenge = await client.AuthAsync("snp");
        using var bad = System.Text.Json.JsonDocument.Parse("{\"attestation_report\":{\"version\":3},\"cert_chain\":[]}");
        var a = new KbsAttestation(new RuntimeData(challenge.Nonce, key.PublicJson), new TeeEvidence(bad.RootElement.Clone(), ""));
        var e = await Assert.ThrowsAsync<KbsClientException>(() => client.AttestAsync(a));
        Assert.Equal((401, "EvidenceInvalid"), (e.Status, e.Kind));
        Assert.StartsWith("snp evidence is malformed:", e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Oversized_body_is_413()
    {
        await using var broker = await TestBroker.StartAsync();
        using var http = broker.NewHttpClient();
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(new string(' ', (2 * 1024 * 1024) + 10)));
        using var r = await http.PostAsync(new Uri("kbs/v0/auth", UriKind.Relative), content);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode);
    }
}
