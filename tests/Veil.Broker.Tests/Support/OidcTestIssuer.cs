using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Veil.Broker.Tests.Support;

/// <summary>
/// A local OIDC issuer on loopback: a small Kestrel app serving <c>/.well-known/openid-configuration</c> and its JWKS
/// (an RSA and an EC P-256 key), counting JWKS fetches, and minting tokens with whatever claims a test needs.
/// </summary>
internal sealed class OidcTestIssuer : IAsyncDisposable
{
    public const string Audience = "veil-broker-test";

    private readonly WebApplication _app;
    private int _jwksFetches;

    private OidcTestIssuer(WebApplication app, string issuer)
    {
        _app = app;
        Issuer = issuer;
    }

    public string Issuer { get; }

    public RSA Rsa { get; } = RSA.Create(2048);

    public ECDsa Ec { get; } = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public int JwksFetches => Volatile.Read(ref _jwksFetches);

    public static async Task<OidcTestIssuer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        OidcTestIssuer? self = null;
        app.MapGet("/.well-known/openid-configuration", () => Results.Text(
            new JsonObject { ["issuer"] = self!.Issuer, ["jwks_uri"] = self.Issuer + "/jwks", ["id_token_signing_alg_values_supported"] = new JsonArray("RS256", "ES256") }.ToJsonString(),
            "application/json"));
        app.MapGet("/jwks", () =>
        {
            Interlocked.Increment(ref self!._jwksFetches);
            return Results.Text(self.Jwks(), "application/json");
        });
        await app.StartAsync();
        var address = new Uri(app.Urls.First());
        self = new OidcTestIssuer(app, $"http://127.0.0.1:{address.Port}");
        return self;
    }

    /// <summary>The public JWKS (also what a jwks file holds).</summary>
    public string Jwks()
    {
        static string B64(byte[] b) => Base64UrlEncoder.Encode(b);
        var rsa = Rsa.ExportParameters(false);
        var ec = Ec.ExportParameters(false);
        return new JsonObject
        {
            ["keys"] = new JsonArray(
                new JsonObject { ["kty"] = "RSA", ["kid"] = "rsa-1", ["use"] = "sig", ["alg"] = "RS256", ["n"] = B64(rsa.Modulus!), ["e"] = B64(rsa.Exponent!) },
                new JsonObject { ["kty"] = "EC", ["kid"] = "ec-1", ["use"] = "sig", ["alg"] = "ES256", ["crv"] = "P-256", ["x"] = B64(ec.Q.X!), ["y"] = B64(ec.Q.Y!) }),
        }.ToJsonString();
    }

    /// <summary>A token signed by the issuer's RSA (RS256) or EC (ES256) key; claims default to a valid admin token for <paramref name="subject"/>.</summary>
    public string Mint(string subject, string alg = "RS256", string? kid = null, string? issuer = null, string? audience = Audience, TimeSpan? expiresIn = null, DateTimeOffset? notBefore = null)
    {
        var now = DateTimeOffset.UtcNow;
        var payload = new JsonObject
        {
            ["iss"] = issuer ?? Issuer,
            ["sub"] = subject,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = (now + (expiresIn ?? TimeSpan.FromMinutes(10))).ToUnixTimeSeconds(),
        };
        if (audience is not null)
        {
            payload["aud"] = audience;
        }

        if (notBefore is { } nbf)
        {
            payload["nbf"] = nbf.ToUnixTimeSeconds();
        }

        SecurityKey key = alg == "ES256" ? new ECDsaSecurityKey(Ec) { KeyId = kid ?? "ec-1" } : new RsaSecurityKey(Rsa) { KeyId = kid ?? "rsa-1" };
        var credentials = new SigningCredentials(key, alg) { CryptoProviderFactory = new CryptoProviderFactory { CacheSignatureProviders = false } };
        var token = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(payload.ToJsonString(), credentials);
        SecretLedger.Add("OIDC admin token", token);
        return token;
    }

    /// <summary>An unsigned token (<c>alg: none</c>) or one "signed" with HS256 using the RSA public key's bytes as the secret.</summary>
    public string Forged(string subject, string alg)
    {
        var header = Base64UrlEncoder.Encode(JsonSerializer.Serialize(new Dictionary<string, string> { ["alg"] = alg, ["typ"] = "JWT", ["kid"] = "rsa-1" }));
        var payload = Base64UrlEncoder.Encode(new JsonObject
        {
            ["iss"] = Issuer, ["sub"] = subject, ["aud"] = Audience, ["exp"] = DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeSeconds(),
        }.ToJsonString());
        if (alg == "none")
        {
            return header + "." + payload + ".";
        }

        var mac = HMACSHA256.HashData(Rsa.ExportSubjectPublicKeyInfo(), System.Text.Encoding.ASCII.GetBytes(header + "." + payload));
        return header + "." + payload + "." + Base64UrlEncoder.Encode(mac);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Rsa.Dispose();
        Ec.Dispose();
    }
}
