using System.Net;
using System.Security.Cryptography;
using System.Text;
using Veil.Broker.Admin;
using Veil.Broker.Keys;
using Veil.Broker.Tests.Support;
using Veil.Protocol.Client;
using Veil.Protocol.Jose;
using Veil.Protocol.Messages;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>Each refusal the issue lists, against the real server; every one must fail closed with its reason.</summary>
public class RefusalTests
{
    private static async Task<KbsClientException> Refused(Func<Task> call) => await Assert.ThrowsAsync<KbsClientException>(call);

    [Fact]
    public async Task Wrong_protocol_version_is_401_naming_both_versions()
    {
        await using var broker = await TestBroker.StartAsync();
        using var http = broker.NewHttpClient();
        using var body = new StringContent("{\"version\":\"0.3.0\",\"tee\":\"sample\",\"extra-params\":\"\"}", Encoding.UTF8, "application/json");
        using var r = await http.PostAsync(new Uri("kbs/v0/auth", UriKind.Relative), body);
        Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType!.MediaType);
        var text = await r.Content.ReadAsStringAsync();
        Assert.Contains("'0.3.0'", text, StringComparison.Ordinal);
        Assert.Contains("'0.4.0'", text, StringComparison.Ordinal);
        Assert.Contains("kbs/errors/ProtocolVersion", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sgx-but-not-really", "UnknownTee")]
    [InlineData("tdx", "TeeNotSupported")]
    [InlineData("nvidia", "TeeNotSupported")]
    public async Task Unknown_or_unsupported_tee_is_refused_at_auth(string tee, string kind)
    {
        await using var broker = await TestBroker.StartAsync();
        using var http = broker.NewHttpClient();
        var e = await Refused(() => new KbsClient(http).AuthAsync(tee));
        Assert.Equal((401, kind), (e.Status, e.Kind));
        Assert.Contains(tee, e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sample_tee_is_refused_unless_allowed()
    {
        await using var broker = await TestBroker.StartAsync(allowSample: false);
        using var http = broker.NewHttpClient();
        var e = await Refused(() => new KbsClient(http).AuthAsync("sample"));
        Assert.Equal("SampleNotAllowed", e.Kind);
        Assert.Contains("--allow-sample", e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reused_nonce_is_refused()
    {
        await using var broker = await TestBroker.StartAsync();
        using var http = broker.NewHttpClient();
        var client = new KbsClient(http);
        using var key = TeeKey.CreateEc();
        var (challenge, _) = await Handshake.SampleAsync(client, key);
        var e = await Refused(() => client.AttestAsync(Handshake.SampleAttestation(challenge.Nonce, key)));
        Assert.Equal("InvalidNonce", e.Kind);
        Assert.Contains("already used", e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nonce_from_another_session_is_refused()
    {
        await using var broker = await TestBroker.StartAsync();
        using var httpA = broker.NewHttpClient();
        using var httpB = broker.NewHttpClient();
        var a = new KbsClient(httpA);
        var b = new KbsClient(httpB);
        using var key = TeeKey.CreateEc();
        await a.AuthAsync("sample");
        var challengeB = await b.AuthAsync("sample");
        var e = await Refused(() => a.AttestAsync(Handshake.SampleAttestation(challengeB.Nonce, key)));
        Assert.Equal("InvalidNonce", e.Kind);
        Assert.Contains("another session", e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Expired_session_is_refused()
    {
        var clock = new TestClock();
        await using var broker = await TestBroker.StartAsync(time: clock);
        using var http = broker.NewHttpClient();
        var client = new KbsClient(http);
        using var key = TeeKey.CreateEc();
        var challenge = await client.AuthAsync("sample");
        clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        var e = await Refused(() => client.AttestAsync(Handshake.SampleAttestation(challenge.Nonce, key)));
        Assert.Equal("InvalidSession", e.Kind);
        Assert.Contains("session expired", e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tampered_or_expired_token_is_refused_on_the_resource_request()
    {
        var clock = new TestClock();
        await using var broker = await TestBroker.StartAsync(time: clock);
        await broker.PutResourceAsync("default/model/k", Encoding.UTF8.GetBytes("tamper-test-value-0001"));
        using var http = broker.NewHttpClient();
        var client = new KbsClient(http);
        using var key = TeeKey.CreateEc();
        var (_, token) = await Handshake.SampleAsync(client, key);

        // Swap in another TEE key: the signature no longer matches.
        using var attacker = TeeKey.CreateEc();
        var parts = token.Split('.');
        var payload = Encoding.UTF8.GetString(Base64UrlText.Decode(parts[1], "payload")).Replace(key.PublicJwk.X!, attacker.PublicJwk.X!, StringComparison.Ordinal);
        var forged = parts[0] + "." + Base64UrlText.Encode(Encoding.UTF8.GetBytes(payload)) + "." + parts[2];
        using var other = broker.NewHttpClient();
        var e = await Refused(() => new KbsClient(other).GetResourceAsync("default/model/k", forged));
        Assert.Equal(("TokenVerificationFailed", 401), (e.Kind, e.Status));
        Assert.Contains("invalid signature", e.Detail, StringComparison.Ordinal);

        clock.Advance(TimeSpan.FromMinutes(6));
        var expired = await Refused(() => new KbsClient(other).GetResourceAsync("default/model/k", token));
        Assert.Contains("expired", expired.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rsa1_5_tee_key_is_refused()
    {
        await using var broker = await TestBroker.StartAsync();
        using var http = broker.NewHttpClient();
        var client = new KbsClient(http);
        using var rsa = RSA.Create(2048);
        var jwk = Jwk.FromRsa(rsa, JoseAlgorithms.Rsa15).ToJsonElement();
        var challenge = await client.AuthAsync("sample");
        var attestation = new KbsAttestation(new RuntimeData(challenge.Nonce, jwk), new TeeEvidence(SampleAttester.Evidence(challenge.Nonce, jwk), ""));
        var e = await Refused(() => client.AttestAsync(attestation));
        Assert.Equal((400, "InvalidAttestation"), (e.Status, e.Kind));
        Assert.Contains("RSA1_5 is refused", e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Admin_calls_without_expired_or_wrongly_signed_tokens_are_refused()
    {
        await using var broker = await TestBroker.StartAsync();
        async Task<(HttpStatusCode, string)> Put(string? token)
        {
            using var http = token is null ? broker.NewHttpClient() : broker.NewAdminClient(token);
            using var body = new ByteArrayContent(Encoding.UTF8.GetBytes("admin-refusal-value-42"));
            using var r = await http.PostAsync(new Uri("kbs/v0/resource/default/x/y", UriKind.Relative), body);
            return (r.StatusCode, await r.Content.ReadAsStringAsync());
        }

        var (status, text) = await Put(null);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Contains("requires 'Authorization: Bearer", text, StringComparison.Ordinal);

        using var adminKey = KeyFiles(broker.DataDir);
        var expiredToken = AdminTokens.Create(adminKey, DateTimeOffset.UtcNow.AddDays(-2), TimeSpan.FromDays(1));
        SecretLedger.Add("expired admin token", expiredToken);
        (status, text) = await Put(expiredToken);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Contains("admin token expired", text, StringComparison.Ordinal);

        using var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var foreignToken = AdminTokens.Create(stranger, DateTimeOffset.UtcNow, TimeSpan.FromHours(1));
        (status, text) = await Put(foreignToken);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Contains("signature is not valid", text, StringComparison.Ordinal);

        (status, _) = await Put(broker.AdminToken);
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Theory]
    [InlineData("/kbs/v0/resource/default/../../etc/passwd")]
    [InlineData("/kbs/v0/resource/default/model/..")]
    [InlineData("/kbs/v0/resource/default/model%2F..%2Fsecret/key")]
    [InlineData("/kbs/v0/resource/default%2fmodel/key/x")]
    [InlineData("/kbs/v0/resource/default/%2e%2e/key")]
    [InlineData("/kbs/v0/resource/default/model/k%5c..")]
    public async Task Resource_path_traversal_is_refused(string target)
    {
        await using var broker = await TestBroker.StartAsync();
        await broker.PutResourceAsync("default/model/key", Encoding.UTF8.GetBytes("traversal-target-value"));
        var (status, body) = await RawHttp.SendAsync(broker.Url, "GET", target);
        Assert.Equal(400, status);
        Assert.Contains("InvalidResourcePath", body, StringComparison.Ordinal);
        (status, body) = await RawHttp.SendAsync(broker.Url, "POST", target, broker.AdminToken);
        Assert.Equal(400, status);
        Assert.Contains("InvalidResourcePath", body, StringComparison.Ordinal);
    }

    private static ECDsa KeyFiles(string dataDir)
    {
        var key = ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(Path.Combine(dataDir, BrokerKeys.AdminPrivateKeyFile)));
        return key;
    }
}
