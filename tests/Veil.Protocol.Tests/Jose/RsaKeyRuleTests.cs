using System.Security.Cryptography;
using Veil.Protocol;
using Veil.Protocol.Jose;

namespace Veil.Protocol.Tests.Jose;

/// <summary>RSA tee-pubkeys: 2048–8192 bits, an odd modulus, e = 65537; every other key is refused naming n or e.</summary>
public sealed class RsaKeyRuleTests
{
    [Fact]
    public void Invalid_rsa_keys_are_refused_naming_the_member()
    {
        foreach (var (name, jwk, field, words) in Veil.Tests.Shared.InvalidRsaKeys.All())
        {
            var e = Assert.Throws<ProtocolFormatException>(() => Jwk.Parse(jwk));
            Assert.True(e.Field == field && e.Message.Contains(words, StringComparison.Ordinal), $"{name}: {e.Message}");
        }
    }

    [Theory]
    [InlineData(2048)]
    [InlineData(3072)]
    [InlineData(4096)]
    public void Rsa_keys_with_e_65537_in_range_are_accepted(int bits)
    {
        using var rsa = RSA.Create(bits);
        var parsed = Jwk.Parse(Jwk.FromRsa(rsa).ToJsonElement());
        Assert.Equal("RSA", parsed.Kty);
        // A leading zero octet (some encoders add one) does not change the size.
        var p = rsa.ExportParameters(false);
        Jwk.Parse(Veil.Tests.Shared.InvalidRsaKeys.Jwk(Veil.Tests.Shared.InvalidRsaKeys.B64Url([0, .. p.Modulus!]), "AAEAAQ"));
    }
}
