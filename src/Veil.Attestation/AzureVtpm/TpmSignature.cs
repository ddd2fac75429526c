namespace Veil.Attestation.AzureVtpm;

/// <summary>
/// The AK's signature over a quote. Two encodings arrive: a marshalled TPMT_SIGNATURE (TPM 2.0 Part 2 §11.3.4:
/// sigAlg UINT16 ‖ for RSASSA/RSAPSS { hash UINT16, sig TPM2B_PUBLIC_KEY_RSA }, for ECDSA { hash UINT16,
/// signatureR TPM2B_ECC_PARAMETER, signatureS TPM2B_ECC_PARAMETER }), as tpm2-tools writes it; or the bare RSA
/// signature bytes that Azure's az-cvm-vtpm and CoCo's attestation-agent send (RSASSA-PKCS1-v1_5 with SHA-256,
/// the scheme of Azure's AK).
/// </summary>
public sealed record TpmSignature(ushort Algorithm, ushort HashAlgorithm, ReadOnlyMemory<byte> Rsa, ReadOnlyMemory<byte> EcdsaR, ReadOnlyMemory<byte> EcdsaS)
{
    /// <summary>Largest TPM2B_PUBLIC_KEY_RSA (MAX_RSA_KEY_BYTES for 8192-bit keys) and TPM2B_ECC_PARAMETER (P-521).</summary>
    private const int MaxRsa = 1024;
    private const int MaxEcc = 66;

    public string AlgorithmName => Algorithm switch
    {
        TpmConstants.AlgRsassa => "RSASSA",
        TpmConstants.AlgRsapss => "RSAPSS",
        TpmConstants.AlgEcdsa => "ECDSA",
        _ => $"0x{Algorithm:x4}",
    };

    /// <summary>
    /// A TPMT_SIGNATURE when the bytes are exactly one (known algorithm, every length consistent, nothing left);
    /// otherwise, for an RSA key, the bare signature when its length is the modulus length.
    /// </summary>
    /// <exception cref="EvidenceFormatException">Neither encoding fits (field named).</exception>
    public static TpmSignature Parse(ReadOnlySpan<byte> bytes, AttestationKey? key, string field = "tpm_quote.signature")
    {
        if (TryParseMarshalled(bytes, field) is { } marshalled)
        {
            return marshalled;
        }

        if (key is { Kty: "RSA" } && bytes.Length == key.KeySize / 8)
        {
            return new TpmSignature(TpmConstants.AlgRsassa, TpmConstants.AlgSha256, bytes.ToArray(), default, default);
        }

        throw new EvidenceFormatException(field, key is { Kty: "RSA" }
            ? $"{bytes.Length} bytes are neither a TPMT_SIGNATURE nor a {key.KeySize}-bit RSA signature"
            : $"{bytes.Length} bytes are not a TPMT_SIGNATURE (RSASSA, RSAPSS or ECDSA)");
    }

    private static TpmSignature? TryParseMarshalled(ReadOnlySpan<byte> bytes, string field)
    {
        if (bytes.Length < 6)
        {
            return null;
        }

        var alg = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(bytes);
        if (alg is not (TpmConstants.AlgRsassa or TpmConstants.AlgRsapss or TpmConstants.AlgEcdsa))
        {
            return null;
        }

        try
        {
            var r = new TpmReader(bytes, field);
            r.U16("sig_alg");
            var hash = r.U16("hash");
            if (alg == TpmConstants.AlgEcdsa)
            {
                var sr = r.Sized("signature_r", MaxEcc);
                var ss = r.Sized("signature_s", MaxEcc);
                r.End();
                var copy = bytes.ToArray();
                return new TpmSignature(alg, hash, default, copy.AsMemory(sr.Offset, sr.Length), copy.AsMemory(ss.Offset, ss.Length));
            }

            var sig = r.Sized("sig", MaxRsa);
            r.End();
            return new TpmSignature(alg, hash, bytes.Slice(sig.Offset, sig.Length).ToArray(), default, default);
        }
        catch (EvidenceFormatException)
        {
            // Lengths that do not add up: not a TPMT_SIGNATURE; the caller tries the bare form.
            return null;
        }
    }
}
