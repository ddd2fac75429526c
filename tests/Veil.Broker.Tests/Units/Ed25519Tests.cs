using System.Formats.Asn1;
using Veil.Broker.Admin;

namespace Veil.Broker.Tests.Units;

/// <summary>Ed25519 verification against RFC 8032 §7.1's test vectors, and what it must refuse.</summary>
public sealed class Ed25519Tests
{
    public static TheoryData<string, string, string> Rfc8032() => new()
    {
        // TEST 1 (empty message), TEST 2 (one byte), TEST 3 (two bytes): public key, message, signature.
        {
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        },
        {
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
        },
        {
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"
        },
    };

    private static Ed25519PublicKey Key(string hex)
    {
        var w = new AsnWriter(AsnEncodingRules.DER);
        using (w.PushSequence())
        {
            using (w.PushSequence())
            {
                w.WriteObjectIdentifier(Ed25519PublicKey.Oid);
            }

            w.WriteBitString(Convert.FromHexString(hex));
        }

        return Ed25519PublicKey.FromSubjectPublicKeyInfo(w.Encode()) ?? throw new InvalidOperationException("not read");
    }

    [Theory]
    [MemberData(nameof(Rfc8032))]
    public void Rfc8032_vectors_verify_and_any_changed_byte_does_not(string key, string message, string signature)
    {
        var k = Key(key);
        var m = Convert.FromHexString(message);
        var s = Convert.FromHexString(signature);
        Assert.True(k.Verify(m, s));
        for (var i = 0; i < s.Length; i += 9)
        {
            var bad = (byte[])s.Clone();
            bad[i] ^= 0x01;
            Assert.False(k.Verify(m, bad));
        }

        Assert.False(k.Verify([.. m, 0], s));
        Assert.False(k.Verify(m, s.AsSpan(0, 63)));
        Assert.False(k.Verify(m, [.. s, 0]));
    }

    [Fact]
    public void A_signature_with_s_not_below_the_group_order_is_refused()
    {
        // RFC 8032 §5.1.7: S must be below L; S + L verifies the same equation, so it is the malleability check.
        var (key, _, signature) = ("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
        var s = Convert.FromHexString(signature);
        var l = System.Numerics.BigInteger.Parse("7237005577332262213973186563042994240857116359379907606001950938285454250989", System.Globalization.CultureInfo.InvariantCulture);
        var sPlusL = new System.Numerics.BigInteger(s.AsSpan(32), isUnsigned: true) + l;
        var malleable = s[..32].Concat(sPlusL.ToByteArray(isUnsigned: true).Concat(new byte[32]).Take(32)).ToArray();
        Assert.False(Key(key).Verify([], malleable));
    }

    [Fact]
    public void Keys_that_are_not_ed25519_spki_are_not_read()
    {
        Assert.Null(Ed25519PublicKey.FromSubjectPublicKeyInfo(new byte[] { 0x30, 0x00 }));
        Assert.Null(Ed25519PublicKey.FromSubjectPublicKeyInfo(new byte[] { 0xFF }));
        using var ec = System.Security.Cryptography.ECDsa.Create();
        Assert.Null(Ed25519PublicKey.FromSubjectPublicKeyInfo(ec.ExportSubjectPublicKeyInfo()));
    }
}
