using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.Tokens;
using Veil.Protocol.Ear;
using Veil.Protocol.Jose;

namespace Veil.Protocol.Tests.Ear;

public class EarTokenTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    private static string Issue(ECDsa key, string kid = "k1", DateTimeOffset? at = null) => EarToken.Issue(key, kid, "veil", at ?? Now, TimeSpan.FromMinutes(5),
        new Dictionary<string, EarSubmodule>
        {
            ["cpu0"] = new(EarStatus.Affirming, new Dictionary<string, int> { ["hardware"] = 2 }, "veil-interim",
                new JsonObject { ["veil.tee"] = "sample", ["runtime_data_claims"] = new JsonObject { ["tee-pubkey"] = new JsonObject { ["kty"] = "EC" } } }, []),
        });

    [Fact]
    public async Task Issued_token_verifies_with_its_key_and_carries_ear_claims()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var jwk = Jwk.FromEcdsa(key, kid: "k1");
        var claims = await EarToken.VerifyAsync(Issue(key), [jwk], "veil", new FixedTimeProvider(Now.AddMinutes(1)));
        Assert.Equal(EarStatus.Affirming, claims.SubmoduleStatus["cpu0"]);
        Assert.Equal(EarToken.Profile, claims.Payload["eat_profile"]!.GetValue<string>());
        Assert.Equal("EC", claims.TeePubKey!["kty"]!.GetValue<string>());
        Assert.Equal("sample", claims.Tee);
        Assert.Equal(2, claims.Payload["submods"]!["cpu0"]!["ear.trustworthiness-vector"]!["hardware"]!.GetValue<int>());
    }

    [Fact]
    public async Task Expired_token_is_rejected()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var e = await Assert.ThrowsAsync<SecurityTokenException>(() =>
            EarToken.VerifyAsync(Issue(key), [Jwk.FromEcdsa(key, kid: "k1")], "veil", new FixedTimeProvider(Now.AddMinutes(6))));
        Assert.Contains("expired", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tampered_payload_or_other_key_is_rejected()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var token = Issue(key);
        var parts = token.Split('.');
        var payload = JsonNode.Parse(Base64UrlText.Decode(parts[1], "p"))!;
        payload["submods"]!["cpu0"]!["ear.status"] = "affirming-forged";
        var forged = parts[0] + "." + Base64UrlText.Encode(System.Text.Encoding.UTF8.GetBytes(payload.ToJsonString())) + "." + parts[2];
        var time = new FixedTimeProvider(Now);
        await Assert.ThrowsAsync<SecurityTokenException>(() => EarToken.VerifyAsync(forged, [Jwk.FromEcdsa(key, kid: "k1")], "veil", time));

        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await Assert.ThrowsAsync<SecurityTokenException>(() => EarToken.VerifyAsync(token, [Jwk.FromEcdsa(other, kid: "k1")], "veil", time));
        await Assert.ThrowsAsync<SecurityTokenException>(() => EarToken.VerifyAsync(token, [Jwk.FromEcdsa(key, kid: "k1")], "someone-else", time));
        await Assert.ThrowsAsync<SecurityTokenException>(() => EarToken.VerifyAsync("not.a.token", [Jwk.FromEcdsa(key, kid: "k1")], "veil", time));
    }

    [Theory]
    [InlineData(0, "none")]
    [InlineData(2, "affirming")]
    [InlineData(33, "warning")]
    [InlineData(97, "contraindicated")]
    public void Status_tiers_follow_ar4si(int value, string status) => Assert.Equal(status, EarStatus.OfClaim(value));
}

internal sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
