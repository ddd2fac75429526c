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
    public void Payload_has_the_ear_layout_with_each_submodule_copied_whole()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var annotated = new JsonObject { ["veil.tee"] = "snp", ["snp"] = new JsonObject { ["measurement"] = "ab+/<&>é", ["vmpl"] = 0 }, ["list"] = new JsonArray(1, "two", null, true) };
        var explanations = new JsonArray(new JsonObject { ["rule"] = "r1", ["expected"] = 3, ["actual"] = 2 });
        var token = EarToken.Issue(key, "k1", "veil", Now, TimeSpan.FromMinutes(5), new Dictionary<string, EarSubmodule>
        {
            ["cpu0"] = new(EarStatus.Warning, new Dictionary<string, int> { ["hardware"] = 32, ["executables"] = 2 }, "strict", annotated, explanations),
            ["gpu0"] = new(EarStatus.Affirming, new Dictionary<string, int>(), "gpu", new JsonObject { ["nvidia"] = new JsonObject() }, []),
        });

        var payload = JsonNode.Parse(Base64UrlText.Decode(token.Split('.')[1], "p"))!.AsObject();
        Assert.Equal(["eat_profile", "iat", "exp", "iss", "jti", "ear.verifier-id", "submods"], payload.Select(p => p.Key));
        Assert.Equal(Now.ToUnixTimeSeconds(), payload["iat"]!.GetValue<long>());
        Assert.Equal(Now.AddMinutes(5).ToUnixTimeSeconds(), payload["exp"]!.GetValue<long>());
        Assert.Equal(32, payload["jti"]!.GetValue<string>().Length);
        var cpu = payload["submods"]!["cpu0"]!.AsObject();
        Assert.Equal(["ear.status", "ear.trustworthiness-vector", "ear.appraisal-policy-id", "ear.veraison.annotated-evidence", "veil.explanations", "veil.tee"], cpu.Select(p => p.Key));
        Assert.Equal(EarStatus.Warning, cpu["ear.status"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(annotated, cpu["ear.veraison.annotated-evidence"]), cpu.ToJsonString());
        Assert.True(JsonNode.DeepEquals(explanations, cpu["veil.explanations"]));
        Assert.Equal("snp", cpu["veil.tee"]!.GetValue<string>());
        Assert.Equal(32, cpu["ear.trustworthiness-vector"]!["hardware"]!.GetValue<int>());
        var gpu = payload["submods"]!["gpu0"]!.AsObject();
        Assert.False(gpu.ContainsKey("veil.tee"));
        Assert.Empty(gpu["veil.explanations"]!.AsArray());
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
