using System.Text.Json.Nodes;

namespace Veil.Guest;

/// <summary>
/// An AK's TPMT_PUBLIC (TPM 2.0 Part 2 §12.2.4), as far as the attester needs it: the key type and public
/// part (RSA modulus and exponent, or the ECC curve and point) and its signing scheme, to compare it with the
/// <c>HCLAkPub</c> JWK of the HCL report before any quote leaves the guest.
/// </summary>
public sealed record TpmPublicKey(string Kty, byte[] Modulus, uint Exponent, string? Curve, byte[] X, byte[] Y, ushort Scheme, ushort SchemeHash)
{
    public const ushort AlgRsa = 0x0001;
    public const ushort AlgEcc = 0x0023;
    public const ushort AlgRsassa = 0x0014;

    public static TpmPublicKey Parse(ReadOnlySpan<byte> tpmtPublic)
    {
        var p = new TpmCommands.Reader(tpmtPublic.ToArray(), "TPMT_PUBLIC");
        var type = p.U16();
        p.U16(); // nameAlg
        p.U32(); // objectAttributes
        p.Sized(); // authPolicy
        if (p.U16() is not 0x0010 and var sym)
        {
            p.U16(); // keyBits
            p.U16(); // mode
            _ = sym;
        }

        var scheme = p.U16();
        ushort hash = 0;
        if (scheme != 0x0010)
        {
            hash = p.U16();
            if (scheme == 0x001A)
            {
                p.U16(); // ECDAA count
            }
        }

        switch (type)
        {
            case AlgRsa:
            {
                p.U16(); // keyBits
                var e = p.U32();
                return new TpmPublicKey("RSA", p.Sized().ToArray(), e == 0 ? 65537 : e, null, [], [], scheme, hash);
            }

            case AlgEcc:
            {
                var curve = p.U16() switch { 0x0003 => "P-256", 0x0004 => "P-384", 0x0005 => "P-521", var c => throw new AttesterException("tpm", $"AK curve 0x{c:x4} is not P-256, P-384 or P-521") };
                if (p.U16() != 0x0010)
                {
                    p.U16(); // kdf hash
                }

                var x = p.Sized().ToArray();
                return new TpmPublicKey("EC", [], 0, curve, x, p.Sized().ToArray(), scheme, hash);
            }

            default:
                throw new AttesterException("tpm", $"AK type 0x{type:x4} is not RSA or ECC");
        }
    }

    /// <summary>The key as the paravisor writes it into the HCL runtime claims (RFC 7518 JWK, kid HCLAkPub).</summary>
    public JsonObject ToJwk()
    {
        var jwk = new JsonObject { ["kid"] = "HCLAkPub", ["key_ops"] = new JsonArray("sign"), ["kty"] = Kty };
        if (Kty == "RSA")
        {
            var e = TpmCommands.U32(Exponent).AsSpan().TrimStart((byte)0).ToArray();
            jwk["e"] = B64(e);
            jwk["n"] = B64(Modulus);
        }
        else
        {
            jwk["crv"] = Curve;
            jwk["x"] = B64(X);
            jwk["y"] = B64(Y);
        }

        return jwk;
    }

    /// <summary>Whether <paramref name="jwk"/> (the HCL report's HCLAkPub) is this key.</summary>
    public bool Matches(JsonNode? jwk)
    {
        var mine = ToJwk();
        string? Field(JsonNode? n, string name) => n?[name]?.GetValue<string>();
        return Kty == "RSA"
            ? Field(jwk, "kty") == "RSA" && Field(jwk, "n") == Field(mine, "n") && Field(jwk, "e") == Field(mine, "e")
            : Field(jwk, "kty") == "EC" && Field(jwk, "crv") == Curve && Field(jwk, "x") == Field(mine, "x") && Field(jwk, "y") == Field(mine, "y");
    }

    private static string B64(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
