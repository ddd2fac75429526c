using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Veil.Broker.Keys;
using Veil.Broker.Tests.Support;
using Veil.Broker.Tests.Units;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>
/// Admin token edge cases over HTTP: 401 with the reason in the problem body, never a 500; the same rule for ES256
/// (signed with the data directory's admin key) and EdDSA (signed by python3-jwcrypto, as kbs-client would).
/// </summary>
public sealed class AdminTokenEdgeTests : IDisposable
{
    private const string Script = """
        import sys, time
        from jwcrypto import jwk, jwt
        admin = jwk.JWK.generate(kty='OKP', crv='Ed25519')
        open(sys.argv[1], 'wb').write(admin.export_to_pem())
        hour = int(time.time()) + 3600
        for claims in ['{"exp":1e20}', '{"exp":"soon"}', '{"exp":%d,"nbf":-1e300}' % hour, '{"exp":%d,"role":5}' % hour,
                       '{"exp":%d,"role":"user"}' % hour, '{"exp":%d,"role":"admin"}' % hour, '{"exp":%d}' % hour,
                       '{"exp":%d,"aud":"veil-broker"}' % hour]:
            t = jwt.JWT(header={'alg': 'EdDSA', 'typ': 'JWT'}, claims=claims)
            t.make_signed_token(admin)
            print(t.serialize())
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("veil-admin-edge-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Out_of_range_and_wrongly_typed_claims_are_401_with_the_reason_for_es256_and_eddsa_alike()
    {
        var pem = Path.Combine(_dir, "admin-ed25519.pem");
        var ed = EdDsaTokens(pem);
        await using var broker = await TestBroker.StartAsync(configure: o => o with { AdminPublicKeyPaths = [pem] });
        using var key = ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(Path.Combine(broker.DataDir, BrokerKeys.AdminPrivateKeyFile)));
        var hour = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
        string Es(string claims) => AdminTokenClaimTests.Sign(key, "{\"iss\":\"veil-admin\"," + claims + "}");

        var cases = new (string Es256, string EdDsa, string Reason)[]
        {
            (Es("\"exp\":1e20"), ed[0], "admin token claim 'exp' is not a NumericDate"),
            (Es("\"exp\":\"soon\""), ed[1], "admin token claim 'exp' is not a NumericDate"),
            (Es($"\"exp\":{hour},\"nbf\":-1e300"), ed[2], "admin token claim 'nbf' is not a NumericDate"),
            (Es($"\"exp\":{hour},\"role\":5"), ed[3], "admin token claim 'role' must be a string"),
            (Es($"\"exp\":{hour},\"role\":\"user\""), ed[4], "admin token's role 'user' is not a role this broker knows"),
        };
        foreach (var (es256, eddsa, reason) in cases)
        {
            foreach (var token in new[] { es256, eddsa })
            {
                var (status, detail) = await ListAsync(broker, token);
                Assert.Equal(HttpStatusCode.Unauthorized, status);
                Assert.StartsWith(reason, detail, StringComparison.Ordinal);
            }
        }

        Assert.Equal(HttpStatusCode.OK, (await ListAsync(broker, ed[5])).Status);
        Assert.Equal(HttpStatusCode.OK, (await ListAsync(broker, ed[6])).Status);
        Assert.Equal(HttpStatusCode.OK, (await ListAsync(broker, Es($"\"exp\":{hour}"))).Status);

        // With an audience configured, tokens must name it. The same data directory (its admin key signs the ES256
        // tokens) serves one SQLite broker at a time.
        await broker.DisposeAsync();
        await using var strict = await TestBroker.StartAsync(dataDir: broker.DataDir, configure: o => o with { AdminPublicKeyPaths = [pem], AdminAudience = "veil-broker" });
        var (missing, why) = await ListAsync(strict, ed[6]);
        Assert.Equal((HttpStatusCode.Unauthorized, "admin token has no audience ('aud'); this broker requires 'veil-broker'"), (missing, why));
        Assert.Equal(HttpStatusCode.Unauthorized, (await ListAsync(strict, Es($"\"exp\":{hour},\"aud\":\"elsewhere\""))).Status);
        Assert.Equal(HttpStatusCode.OK, (await ListAsync(strict, ed[7])).Status);
        Assert.Equal(HttpStatusCode.OK, (await ListAsync(strict, Es($"\"exp\":{hour},\"aud\":[\"veil-broker\"]"))).Status);
    }

    private static async Task<(HttpStatusCode Status, string Detail)> ListAsync(TestBroker broker, string token)
    {
        SecretLedger.Add("admin token", token);
        using var http = broker.NewHttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var r = await http.GetAsync(new Uri("veil/v0/resources", UriKind.Relative));
        if (r.IsSuccessStatusCode)
        {
            return (r.StatusCode, "");
        }

        using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        return (r.StatusCode, doc.RootElement.GetProperty("detail").GetString()!);
    }

    private static string[] EdDsaTokens(string pemPath) => Python.Lines(Script, pemPath);
}
