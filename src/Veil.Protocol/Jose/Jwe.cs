using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Veil.Protocol.Json;
using Veil.Protocol.Messages;

namespace Veil.Protocol.Jose;

/// <summary>
/// JWE for KBS resources: content A256GCM, key management ECDH-ES+A256KW (EC keys) or RSA-OAEP-256 (RSA keys).
/// RSA1_5 is refused: PKCS#1 v1.5 encryption is padding-oracle prone (RFC 8017 §7.2 advises against new use).
/// Hand-written because Microsoft.IdentityModel does not do ECDH-ES+A256KW with the flattened serialization.
/// </summary>
public static class Jwe
{
    private const int CekBytes = 32;
    private const int IvBytes = 12;
    private const int TagBytes = 16;

    /// <summary>Which key management the recipient key selects (its <c>alg</c>, or the default for its type).</summary>
    public static string KeyManagementFor(Jwk recipient)
    {
        var alg = recipient.Alg ?? (recipient.Kty == "EC" ? JoseAlgorithms.EcdhEsA256Kw : JoseAlgorithms.RsaOaep256);
        return (recipient.Kty, alg) switch
        {
            ("EC", JoseAlgorithms.EcdhEsA256Kw) => alg,
            ("RSA", JoseAlgorithms.RsaOaep256) => alg,
            ("RSA", JoseAlgorithms.Rsa15) => throw new ProtocolFormatException("tee-pubkey.alg", "RSA1_5 is refused (padding-oracle prone); use RSA-OAEP-256"),
            _ => throw new ProtocolFormatException("tee-pubkey.alg", $"'{alg}' is not supported for a {recipient.Kty} key (use ECDH-ES+A256KW or RSA-OAEP-256)"),
        };
    }

    public static FlattenedJwe Encrypt(ReadOnlySpan<byte> plaintext, Jwk recipient) => Encrypt(plaintext, recipient, null);

    /// <summary>
    /// <paramref name="importedRecipient"/>: the recipient's EC key already imported (and so checked to lie on the
    /// curve) from the same <paramref name="recipient"/>; a broker keeps it from the attestation to spare a second
    /// import, which costs about as much as the key agreement itself.
    /// </summary>
    public static FlattenedJwe Encrypt(ReadOnlySpan<byte> plaintext, Jwk recipient, ECDiffieHellman? importedRecipient)
    {
        var alg = KeyManagementFor(recipient);
        var cek = RandomNumberGenerator.GetBytes(CekBytes);
        try
        {
            byte[] encryptedKey;
            byte[] header;
            if (alg == JoseAlgorithms.EcdhEsA256Kw)
            {
                using var imported = importedRecipient is null ? recipient.CreateEcdh() : null;
                var peer = importedRecipient ?? imported!;
                using var ephemeral = ECDiffieHellman.Create(recipient.Curve);
                using var peerPublic = peer.PublicKey;
                var kek = DeriveKek(ephemeral, peerPublic);
                encryptedKey = AesKeyWrap.Wrap(kek, cek);
                CryptographicOperations.ZeroMemory(kek);
                var epk = Jwk.FromEcdh(ephemeral, alg: null);
                header = KbsJson.Serialize(w =>
                {
                    w.WriteStartObject();
                    w.WriteString("alg", alg);
                    w.WriteString("enc", JoseAlgorithms.A256Gcm);
                    w.WriteStartObject("epk");
                    w.WriteString("crv", epk.Crv);
                    w.WriteString("kty", "EC");
                    w.WriteString("x", epk.X);
                    w.WriteString("y", epk.Y);
                    w.WriteEndObject();
                    w.WriteEndObject();
                });
            }
            else
            {
                using var rsa = recipient.CreateRsa();
                encryptedKey = rsa.Encrypt(cek, RSAEncryptionPadding.OaepSHA256);
                header = KbsJson.Serialize(w =>
                {
                    w.WriteStartObject();
                    w.WriteString("alg", alg);
                    w.WriteString("enc", JoseAlgorithms.A256Gcm);
                    w.WriteEndObject();
                });
            }

            var protectedB64 = Base64UrlText.Encode(header);
            var iv = RandomNumberGenerator.GetBytes(IvBytes);
            var ciphertext = new byte[plaintext.Length];
            var tag = new byte[TagBytes];
            using (var gcm = new AesGcm(cek, TagBytes))
            {
                gcm.Encrypt(iv, plaintext, ciphertext, tag, Encoding.ASCII.GetBytes(protectedB64));
            }

            return new FlattenedJwe(protectedB64, Base64UrlText.Encode(encryptedKey), Base64UrlText.Encode(iv), Base64UrlText.Encode(ciphertext), Base64UrlText.Encode(tag));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(cek);
        }
    }

    /// <summary>Decrypts with the recipient's EC private key. Tampering fails with <see cref="CryptographicException"/>.</summary>
    public static byte[] Decrypt(FlattenedJwe jwe, ECDiffieHellman privateKey)
    {
        var (alg, header) = ReadHeader(jwe);
        if (alg != JoseAlgorithms.EcdhEsA256Kw)
        {
            throw new ProtocolFormatException("jwe.protected.alg", $"expected {JoseAlgorithms.EcdhEsA256Kw} for an EC key, got '{alg}'");
        }

        if (!header.TryGetProperty("epk", out var epkJson))
        {
            throw new ProtocolFormatException("jwe.protected.epk", "missing");
        }

        var epk = Jwk.Parse(epkJson, "jwe.protected.epk");
        using var ephemeral = epk.CreateEcdh("jwe.protected.epk");
        var kek = DeriveKek(privateKey, ephemeral.PublicKey);
        var cek = AesKeyWrap.Unwrap(kek, Base64UrlText.Decode(jwe.EncryptedKey, "jwe.encrypted_key"));
        CryptographicOperations.ZeroMemory(kek);
        return DecryptContent(jwe, cek);
    }

    /// <summary>Decrypts with the recipient's RSA private key (RSA-OAEP-256 only).</summary>
    public static byte[] Decrypt(FlattenedJwe jwe, RSA privateKey)
    {
        var (alg, _) = ReadHeader(jwe);
        if (alg != JoseAlgorithms.RsaOaep256)
        {
            throw new ProtocolFormatException("jwe.protected.alg", $"expected {JoseAlgorithms.RsaOaep256} for an RSA key, got '{alg}'");
        }

        var cek = privateKey.Decrypt(Base64UrlText.Decode(jwe.EncryptedKey, "jwe.encrypted_key"), RSAEncryptionPadding.OaepSHA256);
        return DecryptContent(jwe, cek);
    }

    /// <summary>RFC 7518 §4.6: the KEK of ECDH-ES+A256KW, AlgorithmID the alg, no PartyUInfo/PartyVInfo (Veil writes no apu/apv).</summary>
    private static byte[] DeriveKek(ECDiffieHellman own, ECDiffieHellmanPublicKey peer) =>
        ConcatKdf.DeriveKey(own, peer, JoseAlgorithms.EcdhEsA256Kw, [], [], 256);

    private static (string Alg, JsonElement Header) ReadHeader(FlattenedJwe jwe)
    {
        var bytes = Base64UrlText.Decode(jwe.Protected, "jwe.protected");
        using var doc = JsonFields.ParseDocument(bytes, "jwe.protected");
        var header = JsonFields.RequireObject(doc.RootElement, "jwe.protected").Clone();
        var enc = JsonFields.RequireString(header, "enc", "jwe.protected");
        if (enc != JoseAlgorithms.A256Gcm)
        {
            throw new ProtocolFormatException("jwe.protected.enc", $"'{enc}' is not supported (A256GCM)");
        }

        var alg = JsonFields.RequireString(header, "alg", "jwe.protected");
        if (alg == JoseAlgorithms.Rsa15)
        {
            throw new ProtocolFormatException("jwe.protected.alg", "RSA1_5 is refused (padding-oracle prone)");
        }

        return (alg, header);
    }

    private static byte[] DecryptContent(FlattenedJwe jwe, byte[] cek)
    {
        try
        {
            if (cek.Length != CekBytes)
            {
                throw new CryptographicException("content key has the wrong length for A256GCM");
            }

            var iv = Base64UrlText.Decode(jwe.Iv, "jwe.iv");
            var tag = Base64UrlText.Decode(jwe.Tag, "jwe.tag");
            if (iv.Length != IvBytes || tag.Length != TagBytes)
            {
                throw new ProtocolFormatException("jwe.iv", "A256GCM needs a 12-byte iv and a 16-byte tag");
            }

            var ciphertext = Base64UrlText.Decode(jwe.Ciphertext, "jwe.ciphertext");
            var plaintext = new byte[ciphertext.Length];
            using var gcm = new AesGcm(cek, TagBytes);
            gcm.Decrypt(iv, ciphertext, tag, plaintext, Encoding.ASCII.GetBytes(jwe.Protected));
            return plaintext;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(cek);
        }
    }
}
