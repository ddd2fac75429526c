using System.Net;
using System.Net.Http.Headers;
using Veil.Broker.Tests.Support;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>
/// Admin tokens signed with Ed25519 (EdDSA), as Trustee's kbs-client makes them, by an independent JOSE
/// implementation (python3-jwcrypto, installed by scripts/prereqs), against a broker given that admin public key.
/// </summary>
public sealed class EdDsaAdminTests : IDisposable
{
    private const string Script = """
        import sys, time
        from jwcrypto import jwk, jwt
        def token(key, exp, alg='EdDSA'):
            t = jwt.JWT(header={'alg': alg, 'typ': 'JWT'}, claims={'iat': int(time.time()), 'exp': exp})
            t.make_signed_token(key)
            return t.serialize()
        admin = jwk.JWK.generate(kty='OKP', crv='Ed25519')
        other = jwk.JWK.generate(kty='OKP', crv='Ed25519')
        open(sys.argv[1], 'wb').write(admin.export_to_pem())
        now = int(time.time())
        print(token(admin, now + 3600))
        print(token(admin, now - 60))
        print(token(other, now + 3600))
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("veil-eddsa-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Eddsa_admin_tokens_from_jwcrypto_are_accepted_only_when_signed_by_a_configured_key_and_unexpired()
    {
        var pem = Path.Combine(_dir, "admin-ed25519.pem");
        var (valid, expired, foreign) = Tokens(pem);
        await using var broker = await TestBroker.StartAsync(configure: o => o with { AdminPublicKeyPaths = [pem] });

        Assert.Equal(HttpStatusCode.OK, await ListAsync(broker, valid));
        var parts = valid.Split('.');
        var tamperedPayload = parts[1][..^2] + (parts[1][^2] == 'A' ? 'B' : 'A') + parts[1][^1];
        Assert.Equal(HttpStatusCode.Unauthorized, await ListAsync(broker, $"{parts[0]}.{tamperedPayload}.{parts[2]}"));
        Assert.Equal(HttpStatusCode.Unauthorized, await ListAsync(broker, expired));
        Assert.Equal(HttpStatusCode.Unauthorized, await ListAsync(broker, foreign));
        Assert.Equal(HttpStatusCode.Unauthorized, await ListAsync(broker, $"eyJhbGciOiJub25lIn0.{parts[1]}."));
        // The data directory's own ES256 admin token keeps working next to the Ed25519 key.
        Assert.Equal(HttpStatusCode.OK, await ListAsync(broker, broker.AdminToken));

        // Without the key configured, the same valid EdDSA token is refused.
        await using var other = await TestBroker.StartAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, await ListAsync(other, valid));
    }

    private static async Task<HttpStatusCode> ListAsync(TestBroker broker, string token)
    {
        SecretLedger.Add("admin token", token);
        using var http = broker.NewHttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var r = await http.GetAsync(new Uri("veil/v0/resources", UriKind.Relative));
        return r.StatusCode;
    }

    private static (string Valid, string Expired, string Foreign) Tokens(string pemPath)
    {
        var lines = Python.Lines(Script, pemPath);
        return (lines[0], lines[1], lines[2]);
    }
}
