using System.Net;
using System.Text.Json;
using Veil.Broker.Admin;
using Veil.Broker.Tests.Support;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>
/// OIDC admin tokens that must not pass: expired, not yet valid, another issuer, another audience, an unknown key id,
/// <c>alg: none</c>, HS256 keyed with the public key — each a 401 problem with its reason, never a 500. Key ids a
/// caller makes up do not make the broker fetch the JWKS per request; a JWKS file works without the issuer.
/// </summary>
public sealed class AdminOidcTokenTests
{
    private static async Task<string> RefusedAsync(TestBroker broker, string token)
    {
        var (status, body) = await AdminAuthorizationMatrixTests.SendAsync(broker, token, HttpMethod.Get, "veil/v0/resources");
        Assert.True(status == HttpStatusCode.Unauthorized, $"expected 401, got {(int)status} {body}");
        using var problem = JsonDocument.Parse(body);
        return problem.RootElement.GetProperty("detail").GetString()!;
    }

    [Fact]
    public async Task Bad_oidc_tokens_are_401_with_the_reason()
    {
        await using var issuer = await OidcTestIssuer.StartAsync();
        await using var other = await OidcTestIssuer.StartAsync();
        await using var broker = await AdminAuthorizationMatrixTests.StartAsync(issuer);
        Assert.Equal(HttpStatusCode.OK, (await AdminAuthorizationMatrixTests.SendAsync(broker, issuer.Mint("alice"), HttpMethod.Get, "veil/v0/resources")).Status);
        Assert.Equal(HttpStatusCode.OK, (await AdminAuthorizationMatrixTests.SendAsync(broker, issuer.Mint("alice", alg: "ES256"), HttpMethod.Get, "veil/v0/resources")).Status);

        Assert.StartsWith("admin token expired at", await RefusedAsync(broker, issuer.Mint("alice", expiresIn: TimeSpan.FromMinutes(-1))), StringComparison.Ordinal);
        Assert.StartsWith("admin token is not valid before", await RefusedAsync(broker, issuer.Mint("alice", notBefore: DateTimeOffset.UtcNow.AddHours(1))), StringComparison.Ordinal);
        Assert.StartsWith("admin token's audience ('aud') does not include", await RefusedAsync(broker, issuer.Mint("alice", audience: "another-service")), StringComparison.Ordinal);
        Assert.StartsWith("admin token's audience ('aud') does not include", await RefusedAsync(broker, issuer.Mint("alice", audience: null)), StringComparison.Ordinal);
        Assert.Equal("OIDC admin token's key id ('kid') is not among the issuer's signing keys", await RefusedAsync(broker, issuer.Mint("alice", kid: "rsa-2")));
        // Another issuer's token (its own iss) is not the configured issuer's: it meets the local keys and fails there.
        Assert.StartsWith("admin token algorithm 'RS256' is not accepted", await RefusedAsync(broker, other.Mint("alice")), StringComparison.Ordinal);
        // Another issuer's key claiming to be this issuer: the signature does not verify.
        Assert.StartsWith("OIDC admin token signature is not valid", await RefusedAsync(broker, other.Mint("alice", issuer: issuer.Issuer)), StringComparison.Ordinal);
        Assert.StartsWith("OIDC admin token algorithm 'none' is not accepted", await RefusedAsync(broker, issuer.Forged("alice", "none")), StringComparison.Ordinal);
        Assert.StartsWith("OIDC admin token algorithm 'HS256' is not accepted", await RefusedAsync(broker, issuer.Forged("alice", "HS256")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Random_key_ids_do_not_make_the_broker_fetch_per_request()
    {
        await using var issuer = await OidcTestIssuer.StartAsync();
        await using var broker = await AdminAuthorizationMatrixTests.StartAsync(issuer);
        Assert.Equal(HttpStatusCode.OK, (await AdminAuthorizationMatrixTests.SendAsync(broker, issuer.Mint("alice"), HttpMethod.Get, "veil/v0/resources")).Status);
        Assert.Equal(1, issuer.JwksFetches);
        for (var i = 0; i < 30; i++)
        {
            await RefusedAsync(broker, issuer.Mint("alice", kid: Guid.NewGuid().ToString("N")));
        }

        Assert.Equal(1, issuer.JwksFetches);
    }

    [Fact]
    public async Task An_unknown_key_id_refreshes_the_keys_once_the_minimum_interval_has_passed()
    {
        await using var issuer = await OidcTestIssuer.StartAsync();
        var clock = new TestClock();
        var settings = new OidcSettings(issuer.Issuer, OidcTestIssuer.Audience, null, OidcSettings.DefaultAlgorithms);
        using var http = new HttpClient();
        using var keys = new OidcKeys(settings, http, clock);
        Assert.Null((await keys.GetAsync("rsa-1", CancellationToken.None)).Error);
        Assert.Equal(2, (await keys.GetAsync("rsa-1", CancellationToken.None)).Keys.Count);
        await keys.GetAsync("rotated", CancellationToken.None);
        Assert.Equal(1, keys.Fetches);
        clock.Advance(settings.MinRefresh);
        await keys.GetAsync("rotated", CancellationToken.None);
        Assert.Equal(2, keys.Fetches);
        clock.Advance(settings.MaxAge);
        await keys.GetAsync(null, CancellationToken.None);
        Assert.Equal(3, keys.Fetches);
    }

    [Fact]
    public async Task A_jwks_file_verifies_tokens_without_fetching()
    {
        await using var issuer = await OidcTestIssuer.StartAsync();
        var file = Path.Combine(Directory.CreateTempSubdirectory("veil-jwks-").FullName, "jwks.json");
        await File.WriteAllTextAsync(file, issuer.Jwks());
        await using var broker = await AdminAuthorizationMatrixTests.StartAsync(issuer, o => o with { AdminOidcJwksFile = file });
        Assert.Equal(HttpStatusCode.OK, (await AdminAuthorizationMatrixTests.SendAsync(broker, issuer.Mint("pat", alg: "ES256"), HttpMethod.Post, "kbs/v0/reference-value",
            "apiVersion: veil.dev/v1\nkind: ReferenceValues\nsets:\n  s:\n    - value: \"1\"\n      provenance: \"test\"\n      expires: 2100-01-01T00:00:00Z\n")).Status);
        Assert.Equal(0, issuer.JwksFetches);
    }

    [Fact]
    public async Task Local_key_tokens_carry_their_role_and_subject()
    {
        await using var issuer = await OidcTestIssuer.StartAsync();
        await using var broker = await AdminAuthorizationMatrixTests.StartAsync(issuer);
        using var key = System.Security.Cryptography.ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(Path.Combine(broker.DataDir, Veil.Broker.Keys.BrokerKeys.AdminPrivateKeyFile)));
        var tenant = AdminTokens.Create(key, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5), "tenant-admin:acme", subject: "acme-ci");
        Assert.Equal(HttpStatusCode.OK, (await AdminAuthorizationMatrixTests.SendAsync(broker, tenant, HttpMethod.Post, "kbs/v0/resource/acme/key/ci", "v")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await AdminAuthorizationMatrixTests.SendAsync(broker, tenant, HttpMethod.Post, "kbs/v0/resource/globex/key/ci", "v")).Status);
        await broker.PutResourceAsync("globex/key/ci", [1]);
        var (_, audit) = await AdminAuthorizationMatrixTests.SendAsync(broker, broker.AdminToken, HttpMethod.Get, "veil/v0/audit");
        Assert.Contains("\"subject\":\"acme-ci\"", audit, StringComparison.Ordinal);
        Assert.Contains("\"subject\":\"admin\"", audit, StringComparison.Ordinal);
    }
}
