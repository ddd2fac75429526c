using System.Security.Cryptography;
using System.Text.Json;
using Veil.Attestation.Tdx;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.AzureVtpm;

/// <summary>
/// The vTPM attestation key's public half as the HCL report's variable data carries it: a JWK (RFC 7517/7518),
/// RSA (<c>n</c>, <c>e</c>) or EC (<c>crv</c> P-256/P-384/P-521, <c>x</c>, <c>y</c>). Hand-written rather than via
/// Microsoft.IdentityModel because only these two key shapes are wanted and every field error must be named.
/// </summary>
public sealed class AttestationKey : IDisposable
{
    private readonly RSA? rsa;
    private readonly ECDsa? ec;

    private AttestationKey(RSA? rsa, ECDsa? ec, int size)
    {
        this.rsa = rsa;
        this.ec = ec;
        KeySize = size;
        SubjectPublicKeyInfoSha256 = Hex.Lower(SHA256.HashData(rsa?.ExportSubjectPublicKeyInfo() ?? ec!.ExportSubjectPublicKeyInfo()));
    }

    /// <summary><c>RSA</c> or <c>EC</c>.</summary>
    public string Kty => rsa is not null ? "RSA" : "EC";

    /// <summary>RSA modulus bits, or the curve's field size in bits.</summary>
    public int KeySize { get; }

    /// <summary>SHA-256 of the DER SubjectPublicKeyInfo: a stable identity for the AK (as openssl/tpm2-tools print it).</summary>
    public string SubjectPublicKeyInfoSha256 { get; }

    /// <exception cref="EvidenceFormatException">Not an RSA or EC public JWK (field named).</exception>
    public static AttestationKey FromJwk(JsonElement jwk, string field)
    {
        var kty = JsonFields.String(jwk, "kty", field);
        switch (kty)
        {
            case "RSA":
            {
                var n = Base64Url(jwk, "n", field);
                var e = Base64Url(jwk, "e", field);
                if (n.Length is < 128 or > 1024 || n[0] == 0)
                {
                    throw new EvidenceFormatException($"{field}.n", $"{n.Length}-byte modulus (with a leading zero: {n.Length > 0 && n[0] == 0}); expected 1024 to 8192 bits, minimal encoding");
                }

                var key = RSA.Create();
                try
                {
                    key.ImportParameters(new RSAParameters { Modulus = n, Exponent = e });
                }
                catch (CryptographicException ex)
                {
                    key.Dispose();
                    throw new EvidenceFormatException($"{field}", "not a valid RSA public key", ex);
                }

                return new AttestationKey(key, null, n.Length * 8);
            }

            case "EC":
            {
                var crv = JsonFields.String(jwk, "crv", field);
                var (curve, size) = crv switch
                {
                    "P-256" => (ECCurve.NamedCurves.nistP256, 32),
                    "P-384" => (ECCurve.NamedCurves.nistP384, 48),
                    "P-521" => (ECCurve.NamedCurves.nistP521, 66),
                    _ => throw new EvidenceFormatException($"{field}.crv", $"'{crv}' is not P-256, P-384 or P-521"),
                };
                var x = Base64Url(jwk, "x", field);
                var y = Base64Url(jwk, "y", field);
                if (x.Length != size || y.Length != size)
                {
                    throw new EvidenceFormatException($"{field}.x", $"coordinates of {x.Length} and {y.Length} bytes, {crv} has {size}");
                }

                var key = ECDsa.Create();
                try
                {
                    key.ImportParameters(new ECParameters { Curve = curve, Q = new ECPoint { X = x, Y = y } });
                }
                catch (CryptographicException ex)
                {
                    key.Dispose();
                    throw new EvidenceFormatException(field, "not a point on " + crv, ex);
                }

                return new AttestationKey(null, key, size * 8);
            }

            default:
                throw new EvidenceFormatException($"{field}.kty", $"'{kty}' is not RSA or EC");
        }
    }

    /// <summary>Null when <paramref name="signature"/> over <paramref name="message"/> verifies; else why not.</summary>
    public string? Verify(TpmSignature signature, ReadOnlySpan<byte> message)
    {
        if (TpmConstants.Hash(signature.HashAlgorithm) is not { } hash || signature.HashAlgorithm == TpmConstants.AlgSha1)
        {
            return $"signature hash {TpmConstants.HashName(signature.HashAlgorithm)} is not SHA-256, SHA-384 or SHA-512";
        }

        switch (signature.Algorithm)
        {
            case TpmConstants.AlgRsassa or TpmConstants.AlgRsapss when rsa is not null:
                var padding = signature.Algorithm == TpmConstants.AlgRsassa ? RSASignaturePadding.Pkcs1 : RSASignaturePadding.Pss;
                return rsa.VerifyData(message, signature.Rsa.Span, hash, padding) ? null : "invalid";
            case TpmConstants.AlgEcdsa when ec is not null:
                var size = KeySize / 8;
                var r = signature.EcdsaR.Span;
                var s = signature.EcdsaS.Span;
                if (r.Length > size || s.Length > size)
                {
                    return $"ECDSA components of {r.Length} and {s.Length} bytes for a {KeySize}-bit curve";
                }

                Span<byte> p1363 = stackalloc byte[2 * 66];
                p1363 = p1363[..(2 * size)];
                p1363.Clear();
                r.CopyTo(p1363[(size - r.Length)..size]);
                s.CopyTo(p1363[(2 * size - s.Length)..]);
                return ec.VerifyData(message, p1363, hash) ? null : "invalid";
            default:
                return $"a {signature.AlgorithmName} signature cannot be made by an {Kty} key";
        }
    }

    public void Dispose()
    {
        rsa?.Dispose();
        ec?.Dispose();
    }

    private static byte[] Base64Url(JsonElement jwk, string name, string field)
    {
        var text = JsonFields.String(jwk, name, field);
        var s = text.Replace('-', '+').Replace('_', '/');
        s = s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '=');
        try
        {
            return Convert.FromBase64String(s);
        }
        catch (FormatException)
        {
            throw new EvidenceFormatException($"{field}.{name}", "not base64url");
        }
    }
}
