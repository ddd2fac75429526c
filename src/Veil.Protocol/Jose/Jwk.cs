using System.Security.Cryptography;
using System.Text.Json;
using Veil.Protocol.Json;
using Veil.Protocol.Messages;

namespace Veil.Protocol.Jose;

/// <summary>
/// A public JSON Web Key (RFC 7517) of the kinds the KBS protocol uses for <c>tee-pubkey</c> and token keys:
/// EC (P-256, P-384, P-521) and RSA. Private members, if a client sent any, are ignored and never kept.
/// </summary>
public sealed record Jwk(string Kty, string? Crv, string? Alg, string? X, string? Y, string? N, string? E, string? Kid = null)
{
    public const int MinRsaBits = 2048;

    /// <summary>Larger moduli only cost the broker time (a 16384-bit public operation per release) and buy nothing.</summary>
    public const int MaxRsaBits = 8192;

    /// <summary>The only RSA public exponent accepted (F4, "AQAB"): what every RSA library generates.</summary>
    public const int RsaExponent = 65537;

    public static Jwk Parse(JsonElement e, string path = "tee-pubkey") => Parse(e, path, checkPoint: true);

    /// <summary>
    /// <paramref name="checkPoint"/> false skips the on-curve check (an EC key import) for a key that is about to be
    /// imported anyway, e.g. by <see cref="Jwe.Encrypt"/>, whose import performs the same check.
    /// </summary>
    public static Jwk Parse(JsonElement e, string path, bool checkPoint)
    {
        JsonFields.RequireObject(e, path);
        var kty = JsonFields.RequireString(e, "kty", path);
        var alg = JsonFields.OptionalString(e, "alg", path);
        var kid = JsonFields.OptionalString(e, "kid", path);
        Jwk jwk;
        switch (kty)
        {
            case "EC":
                var crv = JsonFields.RequireString(e, "crv", path);
                var size = CoordinateSize(crv, path + ".crv");
                var x = JsonFields.RequireString(e, "x", path);
                var y = JsonFields.RequireString(e, "y", path);
                CheckLength(Base64UrlText.Decode(x, path + ".x"), size, path + ".x");
                CheckLength(Base64UrlText.Decode(y, path + ".y"), size, path + ".y");
                jwk = new Jwk(kty, crv, alg, x, y, null, null, kid);
                if (checkPoint)
                {
                    using (jwk.CreateEcdh(path))
                    {
                        // Import checks that the point lies on the curve.
                    }
                }

                break;
            case "RSA":
                var n = JsonFields.RequireString(e, "n", path);
                var ee = JsonFields.RequireString(e, "e", path);
                CheckRsa(Base64UrlText.Decode(n, path + ".n"), Base64UrlText.Decode(ee, path + ".e"), path);
                jwk = new Jwk(kty, null, alg, null, null, n, ee, kid);
                break;
            default:
                throw new ProtocolFormatException(path + ".kty", $"key type '{kty}' is not supported (EC or RSA)");
        }

        return jwk;
    }

    public static Jwk FromEcdh(ECDiffieHellman key, string? alg = JoseAlgorithms.EcdhEsA256Kw) => FromEc(key.ExportParameters(false), alg);

    public static Jwk FromEcdsa(ECDsa key, string? alg = JoseAlgorithms.Es256, string? kid = null) => FromEc(key.ExportParameters(false), alg) with { Kid = kid };

    public static Jwk FromRsa(RSA key, string? alg = JoseAlgorithms.RsaOaep256)
    {
        var p = key.ExportParameters(false);
        return new Jwk("RSA", null, alg, null, null, Base64UrlText.Encode(p.Modulus), Base64UrlText.Encode(p.Exponent));
    }

    public ECCurve Curve => Crv switch
    {
        "P-256" => ECCurve.NamedCurves.nistP256,
        "P-384" => ECCurve.NamedCurves.nistP384,
        "P-521" => ECCurve.NamedCurves.nistP521,
        _ => throw new ProtocolFormatException("crv", $"curve '{Crv}' is not supported"),
    };

    public ECDiffieHellman CreateEcdh(string path = "tee-pubkey")
    {
        try
        {
            return ECDiffieHellman.Create(EcParameters());
        }
        catch (CryptographicException)
        {
            throw new ProtocolFormatException(path, "EC point is not on the curve");
        }
    }

    public ECDsa CreateEcdsa(string path = "jwk")
    {
        try
        {
            return ECDsa.Create(EcParameters());
        }
        catch (CryptographicException)
        {
            throw new ProtocolFormatException(path, "EC point is not on the curve");
        }
    }

    public RSA CreateRsa()
    {
        var rsa = RSA.Create();
        rsa.ImportParameters(new RSAParameters { Modulus = Base64UrlText.Decode(N, "n"), Exponent = Base64UrlText.Decode(E, "e") });
        return rsa;
    }

    /// <summary>RFC 7638 thumbprint (SHA-256, base64url): a stable key id.</summary>
    public string Thumbprint()
    {
        var json = Kty == "EC"
            ? $"{{\"crv\":\"{Crv}\",\"kty\":\"EC\",\"x\":\"{X}\",\"y\":\"{Y}\"}}"
            : $"{{\"e\":\"{E}\",\"kty\":\"RSA\",\"n\":\"{N}\"}}";
        return Base64UrlText.Encode(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(json)));
    }

    public void WriteTo(Utf8JsonWriter w, string? use = null)
    {
        w.WriteStartObject();
        if (Alg is not null)
        {
            w.WriteString("alg", Alg);
        }

        if (Kty == "EC")
        {
            w.WriteString("crv", Crv);
            w.WriteString("kty", Kty);
            w.WriteString("x", X);
            w.WriteString("y", Y);
        }
        else
        {
            w.WriteString("e", E);
            w.WriteString("kty", Kty);
            w.WriteString("n", N);
        }

        if (Kid is not null)
        {
            w.WriteString("kid", Kid);
        }

        if (use is not null)
        {
            w.WriteString("use", use);
        }

        w.WriteEndObject();
    }

    public JsonElement ToJsonElement()
    {
        using var doc = JsonDocument.Parse(KbsJson.Serialize(w => WriteTo(w)));
        return doc.RootElement.Clone();
    }

    internal static int CoordinateSize(string crv, string path) => crv switch
    {
        "P-256" => 32,
        "P-384" => 48,
        "P-521" => 66,
        _ => throw new ProtocolFormatException(path, $"curve '{crv}' is not supported (P-256, P-384, P-521)"),
    };

    private static Jwk FromEc(ECParameters p, string? alg)
    {
        var crv = p.Curve.Oid.FriendlyName switch
        {
            "nistP256" or "ECDSA_P256" => "P-256",
            "nistP384" or "ECDSA_P384" => "P-384",
            "nistP521" or "ECDSA_P521" => "P-521",
            var other => throw new ArgumentException($"curve {other} is not supported"),
        };
        return new Jwk("EC", crv, alg, Base64UrlText.Encode(p.Q.X), Base64UrlText.Encode(p.Q.Y), null, null);
    }

    /// <summary>
    /// An RSA public key a JWE may be encrypted to: 2048 to 8192 bits, an odd modulus (an even one has the factor 2),
    /// and e = 65537. Small exponents (e = 1 encrypts to the plaintext itself, e = 3 invites low-exponent attacks)
    /// and odd exotic ones are refused rather than judged: no TEE key generator makes them.
    /// </summary>
    private static void CheckRsa(ReadOnlySpan<byte> modulus, ReadOnlySpan<byte> exponent, string path)
    {
        modulus = modulus.TrimStart((byte)0);
        var bits = modulus.IsEmpty ? 0 : ((modulus.Length - 1) * 8) + (32 - System.Numerics.BitOperations.LeadingZeroCount((uint)modulus[0]));
        if (bits is < MinRsaBits or > MaxRsaBits)
        {
            throw new ProtocolFormatException(path + ".n", $"RSA modulus of {bits} bits is outside the accepted {MinRsaBits} to {MaxRsaBits} bits");
        }

        if ((modulus[^1] & 1) == 0)
        {
            throw new ProtocolFormatException(path + ".n", "RSA modulus is even, so not a product of two large primes");
        }

        exponent = exponent.TrimStart((byte)0);
        if (!exponent.SequenceEqual((ReadOnlySpan<byte>)[0x01, 0x00, 0x01]))
        {
            throw new ProtocolFormatException(path + ".e", $"RSA public exponent must be {RsaExponent} (\"AQAB\")");
        }
    }

    private static void CheckLength(byte[] value, int expected, string path)
    {
        if (value.Length != expected)
        {
            throw new ProtocolFormatException(path, $"coordinate is {value.Length} bytes, the curve needs {expected}");
        }
    }

    private ECParameters EcParameters() => new()
    {
        Curve = Curve,
        Q = new ECPoint { X = Base64UrlText.Decode(X, "x"), Y = Base64UrlText.Decode(Y, "y") },
    };
}
