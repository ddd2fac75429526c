using System.Text;
using System.Text.Json;
using Veil.Broker.Tests.Support;
using Veil.Protocol.Client;
using Veil.Protocol.Ear;
using Veil.Protocol.Jose;

namespace Veil.Broker.Tests.EndToEnd;

public class SampleHandshakeTests
{
    [Theory]
    [InlineData("ec")]
    [InlineData("rsa")]
    public async Task Sample_tee_handshake_releases_the_resource_decryptable_with_the_tee_key(string keyType)
    {
        await using var broker = await TestBroker.StartAsync(allowSample: true);
        var secret = Encoding.UTF8.GetBytes("model-key-" + Guid.NewGuid().ToString("N"));
        await broker.PutResourceAsync("default/model/key1", secret);

        using var http = broker.NewHttpClient();
        var client = new KbsClient(http);
        using var key = keyType == "ec" ? TeeKey.CreateEc() : TeeKey.CreateRsa();
        var (_, token) = await Handshake.SampleAsync(client, key);
        var jwe = await client.GetResourceAsync("default/model/key1");

        var header = JsonDocument.Parse(Base64UrlText.Decode(jwe.Protected, "protected")).RootElement;
        Assert.Equal(keyType == "ec" ? "ECDH-ES+A256KW" : "RSA-OAEP-256", header.GetProperty("alg").GetString());
        Assert.Equal(secret, key.Decrypt(jwe));

        // The same token also works as a bearer token from a client without the session cookie.
        using var other = broker.NewHttpClient();
        Assert.Equal(secret, key.Decrypt(await new KbsClient(other).GetResourceAsync("default/model/key1", token)));
    }

    [Fact]
    public async Task Ear_token_verifies_with_the_published_jwks_and_carries_the_tee_pubkey()
    {
        await using var broker = await TestBroker.StartAsync(allowSample: true);
        using var http = broker.NewHttpClient();
        using var key = TeeKey.CreateEc();
        var (challenge, token) = await Handshake.SampleAsync(new KbsClient(http), key);

        var jwks = JsonDocument.Parse(await http.GetByteArrayAsync(new Uri("/.well-known/jwks.json", UriKind.Relative))).RootElement;
        var keys = jwks.GetProperty("keys").EnumerateArray().Select(k => Jwk.Parse(k, "jwks.keys[]")).ToList();
        Assert.Single(keys);
        Assert.Equal("ES256", keys[0].Alg);

        var claims = await EarToken.VerifyAsync(token, keys, "veil-broker", TimeProvider.System);
        Assert.Equal(EarStatus.Affirming, claims.SubmoduleStatus["cpu0"]);
        Assert.Equal(key.PublicJwk.X, claims.TeePubKey!["x"]!.GetValue<string>());
        var annotated = claims.Payload["submods"]!["cpu0"]!["ear.veraison.annotated-evidence"]!;
        Assert.Equal(challenge.Nonce, annotated["runtime_data_claims"]!["nonce"]!.GetValue<string>());
        Assert.Equal("1", annotated["sample"]!["sample.svn"]!.GetValue<string>());
        Assert.True(claims.Expires - claims.IssuedAt <= TimeSpan.FromMinutes(5));
    }

    [Fact]
    public async Task Audit_log_records_attest_and_release_with_evidence_digest()
    {
        await using var broker = await TestBroker.StartAsync(allowSample: true);
        await broker.PutResourceAsync("default/model/audited", Encoding.UTF8.GetBytes("audited-value-123456"));
        using var http = broker.NewHttpClient();
        using var key = TeeKey.CreateEc();
        var client = new KbsClient(http);
        await Handshake.SampleAsync(client, key);
        await client.GetResourceAsync("default/model/audited");
        await Assert.ThrowsAsync<KbsClientException>(() => client.GetResourceAsync("default/model/missing"));

        await using var store = await Storage.SqliteBrokerStoreHandle.OpenAsync(broker.DataDir);
        var audit = await store.Store.ListAuditAsync(20, CancellationToken.None);
        var release = Assert.Single(audit, a => a.Action == "release" && a.Outcome == "allowed");
        Assert.Equal("default/model/audited", release.Resource);
        Assert.StartsWith("sha256:", release.EvidenceDigest, StringComparison.Ordinal);
        Assert.Contains(audit, a => a.Action == "release" && a.Outcome == "denied" && a.Resource == "default/model/missing" && a.Reason.Contains("does not exist", StringComparison.Ordinal));
        Assert.Contains(audit, a => a.Action == "attest" && a.Outcome == "allowed" && a.EvidenceDigest == release.EvidenceDigest);
        Assert.Contains(audit, a => a.Action == "put" && a.Resource == "default/model/audited");
    }
}
