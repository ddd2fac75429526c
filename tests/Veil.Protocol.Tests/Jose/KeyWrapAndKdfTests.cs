using Veil.Protocol.Jose;

namespace Veil.Protocol.Tests.Jose;

public class KeyWrapAndKdfTests
{
    private static readonly byte[] Kek256 = Convert.FromHexString("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");

    [Fact]
    public void Rfc3394_4_3_wraps_128_bit_key_with_256_bit_kek()
    {
        var wrapped = AesKeyWrap.Wrap(Kek256, Convert.FromHexString("00112233445566778899AABBCCDDEEFF"));
        Assert.Equal("64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7", Convert.ToHexString(wrapped));
    }

    [Fact]
    public void Rfc3394_4_6_wraps_256_bit_key_with_256_bit_kek_and_unwraps()
    {
        var key = Convert.FromHexString("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F");
        var wrapped = AesKeyWrap.Wrap(Kek256, key);
        Assert.Equal("28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21", Convert.ToHexString(wrapped));
        Assert.Equal(key, AesKeyWrap.Unwrap(Kek256, wrapped));
    }

    [Fact]
    public void Unwrap_with_tampered_data_fails_the_integrity_check()
    {
        var wrapped = AesKeyWrap.Wrap(Kek256, new byte[32]);
        wrapped[5] ^= 1;
        Assert.Throws<System.Security.Cryptography.CryptographicException>(() => AesKeyWrap.Unwrap(Kek256, wrapped));
        Assert.Throws<System.Security.Cryptography.CryptographicException>(() => AesKeyWrap.Unwrap(Kek256, new byte[12]));
    }

    [Fact]
    public void Rfc7518_appendix_c_concat_kdf()
    {
        byte[] z = [158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49, 110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196];
        var key = ConcatKdf.DeriveKey(z, "A128GCM", "Alice"u8, "Bob"u8, 128);
        Assert.Equal("VqqN6vgjbSBcIijNcacQGg", Base64UrlText.Encode(key));
    }

    public static TheoryData<string, int> Curves() => new()
    {
        { "nistP256", 256 },
        { "nistP384", 256 },
        { "nistP521", 128 },
        { "nistP384", 192 },
    };

    /// <summary>DeriveKeyFromHash(counter 1 ‖ Z ‖ OtherInfo) is the KDF's one round: same bytes as hashing Z by hand.</summary>
    [Theory]
    [MemberData(nameof(Curves))]
    public void One_call_key_agreement_and_kdf_equals_the_kdf_over_the_raw_shared_secret(string curve, int bits)
    {
        var named = System.Security.Cryptography.ECCurve.CreateFromFriendlyName(curve);
        using var a = System.Security.Cryptography.ECDiffieHellman.Create(named);
        using var b = System.Security.Cryptography.ECDiffieHellman.Create(named);
        using var bPublic = b.PublicKey;
        var z = a.DeriveRawSecretAgreement(bPublic);
        var expected = ConcatKdf.DeriveKey(z, "ECDH-ES+A256KW", "apu"u8, "apv"u8, bits);
        Assert.Equal(expected, ConcatKdf.DeriveKey(a, bPublic, "ECDH-ES+A256KW", "apu"u8, "apv"u8, bits));
        Assert.Equal(bits / 8, expected.Length);
        Assert.NotEqual(expected, ConcatKdf.DeriveKey(a, bPublic, "ECDH-ES+A128KW", "apu"u8, "apv"u8, bits));
    }

    [Fact]
    public void One_call_kdf_refuses_lengths_one_round_cannot_give()
    {
        using var a = System.Security.Cryptography.ECDiffieHellman.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        using var aPublic = a.PublicKey;
        Assert.Throws<ArgumentOutOfRangeException>(() => ConcatKdf.DeriveKey(a, aPublic, "A256GCM", [], [], 512));
        Assert.Throws<ArgumentOutOfRangeException>(() => ConcatKdf.DeriveKey(a, aPublic, "A256GCM", [], [], 100));
    }
}
