using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Veil.Protocol.Jose;

namespace Veil.Protocol.Tests.Jose;

public class JweTests
{
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("model key 0123456789abcdef");

    [Theory]
    [InlineData("P-256")]
    [InlineData("P-384")]
    [InlineData("P-521")]
    public void Ecdh_es_a256kw_round_trip(string crv)
    {
        using var key = ECDiffieHellman.Create(new Jwk("EC", crv, null, null, null, null, null).Curve);
        var recipient = Jwk.Parse(Jwk.FromEcdh(key).ToJsonElement());
        var jwe = FlattenedJwe.Parse(Jwe.Encrypt(Secret, recipient).ToUtf8());
        var header = JsonDocument.Parse(Base64UrlText.Decode(jwe.Protected, "p")).RootElement;
        Assert.Equal("ECDH-ES+A256KW", header.GetProperty("alg").GetString());
        Assert.Equal("A256GCM", header.GetProperty("enc").GetString());
        Assert.Equal(crv, header.GetProperty("epk").GetProperty("crv").GetString());
        Assert.Equal(40, Base64UrlText.Decode(jwe.EncryptedKey, "k").Length);
        Assert.Equal(Secret, Jwe.Decrypt(jwe, key));
    }

    [Fact]
    public void Rsa_oaep_256_round_trip()
    {
        using var key = RSA.Create(2048);
        var jwe = Jwe.Encrypt(Secret, Jwk.Parse(Jwk.FromRsa(key).ToJsonElement()));
        Assert.Equal(Secret, Jwe.Decrypt(jwe, key));
    }

    [Fact]
    public void Rsa1_5_is_refused()
    {
        using var key = RSA.Create(2048);
        var e = Assert.Throws<ProtocolFormatException>(() => Jwe.Encrypt(Secret, Jwk.FromRsa(key, JoseAlgorithms.Rsa15)));
        Assert.Equal("tee-pubkey.alg", e.Field);
    }

    [Fact]
    public void Small_rsa_key_is_refused()
    {
        using var key = RSA.Create(1024);
        var e = Assert.Throws<ProtocolFormatException>(() => Jwk.Parse(Jwk.FromRsa(key).ToJsonElement()));
        Assert.Equal("tee-pubkey.n", e.Field);
    }

    [Fact]
    public void Point_not_on_curve_is_refused()
    {
        var json = JsonDocument.Parse("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"y\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE\"}").RootElement;
        var e = Assert.Throws<ProtocolFormatException>(() => Jwk.Parse(json));
        Assert.Contains("not on the curve", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"AA\"}", "tee-pubkey.kty")]
    [InlineData("{\"kty\":\"EC\",\"crv\":\"P-192\",\"x\":\"AA\",\"y\":\"AA\"}", "tee-pubkey.crv")]
    [InlineData("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}", "tee-pubkey.x")]
    [InlineData("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"A+/=\",\"y\":\"AA\"}", "tee-pubkey.x")]
    [InlineData("{\"crv\":\"P-256\"}", "tee-pubkey.kty")]
    public void Bad_jwk_names_the_field(string json, string field)
    {
        var e = Assert.Throws<ProtocolFormatException>(() => Jwk.Parse(JsonDocument.Parse(json).RootElement));
        Assert.Equal(field, e.Field);
    }

    [Fact]
    public void Tampered_ciphertext_tag_or_header_fails()
    {
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var jwe = Jwe.Encrypt(Secret, Jwk.FromEcdh(key));
        static string Flip(string b64)
        {
            var bytes = Base64UrlText.Decode(b64, "x");
            bytes[0] ^= 1;
            return Base64UrlText.Encode(bytes);
        }

        Assert.ThrowsAny<CryptographicException>(() => Jwe.Decrypt(jwe with { Ciphertext = Flip(jwe.Ciphertext) }, key));
        Assert.ThrowsAny<CryptographicException>(() => Jwe.Decrypt(jwe with { Tag = Flip(jwe.Tag) }, key));
        Assert.ThrowsAny<CryptographicException>(() => Jwe.Decrypt(jwe with { EncryptedKey = Flip(jwe.EncryptedKey) }, key));
        using var other = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        Assert.ThrowsAny<CryptographicException>(() => Jwe.Decrypt(jwe, other));
    }

    [Fact]
    public void Each_encryption_uses_a_fresh_key_and_iv()
    {
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var a = Jwe.Encrypt(Secret, Jwk.FromEcdh(key));
        var b = Jwe.Encrypt(Secret, Jwk.FromEcdh(key));
        Assert.NotEqual(a.Iv, b.Iv);
        Assert.NotEqual(a.Ciphertext, b.Ciphertext);
        Assert.NotEqual(a.Protected, b.Protected);
    }
}
