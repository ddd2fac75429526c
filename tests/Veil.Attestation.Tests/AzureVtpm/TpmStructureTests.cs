using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;
using Veil.Attestation.AzureVtpm;
using static Veil.Attestation.Tests.AzureVtpm.AzureVectors;

namespace Veil.Attestation.Tests.AzureVtpm;

/// <summary>TPM 2.0 structures on their own: TPMS_ATTEST fields, TPMT_SIGNATURE in both encodings, the AK JWK, the legacy vectors.</summary>
public class TpmStructureTests
{
    [Fact]
    public void A_real_quote_message_parses_field_by_field()
    {
        var (_, message, _) = QuoteParts(Json(SnpFile("evidence-v1.json"))["tpm_quote"]!);
        var m = TpmQuoteMessage.Parse(message);

        Assert.Equal("challenge", System.Text.Encoding.ASCII.GetString(m.ExtraData.Span));
        Assert.Equal("000bbf15d1053b33c81c80e3f9892b1f359474102661abfabf2889dbbca9ab2b4459", Convert.ToHexStringLower(m.QualifiedSigner.Span));
        Assert.Equal((3513262UL, 2U, 0U, true, 0x2020031200120003UL), (m.Clock, m.ResetCount, m.RestartCount, m.Safe, m.FirmwareVersion));
        var bank = Assert.Single(m.PcrSelections);
        Assert.Equal("sha256", bank.HashName);
        Assert.Equal(Enumerable.Range(0, 24), bank.Pcrs);
        Assert.Equal("cfa3a9112493e8c8741c1d895ced6d05a9ea19a24a02a44a8b02eaf22a1b143f", Convert.ToHexStringLower(m.PcrDigest.Span));
    }

    [Theory]
    [InlineData(0, "tpm_quote.message.magic")]
    [InlineData(4, "tpm_quote.message.type")]
    [InlineData(6, "tpm_quote.message.qualified_signer.size")]
    public void Wrong_magic_type_or_lengths_are_named(int offset, string field)
    {
        var (_, message, _) = QuoteParts(Json(SnpFile("evidence-v1.json"))["tpm_quote"]!);
        message[offset] ^= 0x80;
        Assert.Equal(field, Assert.Throws<EvidenceFormatException>(() => TpmQuoteMessage.Parse(message)).Field);
    }

    [Fact]
    public void The_legacy_bincode_quote_verifies_against_the_hcl_reports_ak_and_its_edits_fail()
    {
        // quote.bin: az-snp-vtpm's Quote serialized by bincode (u64 length ‖ signature, u64 length ‖ message,
        // u64 count ‖ 32-byte PCRs); Trustee's older tests checked it against hcl-report.bin, and zeroed 0x030 and 0x169.
        var bin = SnpFile("quote.bin");
        var hcl = HclReport.Parse(SnpFile("hcl-report.bin"));
        using var vd = HclVariableData.Parse(hcl.VariableData);
        Assert.Null(Verify(bin, vd.Ak, "challenge"u8.ToArray()));
        Assert.Equal("signature", Verify(Zero(bin, 0x030), vd.Ak, "challenge"u8.ToArray()));

        // 0x169 is the pcrDigest size: zeroed, tss-esapi read an empty digest and ignored the 32 bytes after it (a PCR
        // mismatch); Veil refuses the bytes left over instead.
        var e = Assert.Throws<EvidenceFormatException>(() => Verify(Zero(bin, 0x0169), vd.Ak, "challenge"u8.ToArray()));
        Assert.Equal(("tpm_quote.message", "oversized: 32 bytes after the end of the structure"), (e.Field, e.Reason));
    }

    [Fact]
    public void The_raw_quote_msg_and_sig_vectors_parse()
    {
        var m = TpmQuoteMessage.Parse(SnpFile("tpm-quote.msg"));
        Assert.Equal("challenge", System.Text.Encoding.ASCII.GetString(m.ExtraData.Span));
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7, 14], Assert.Single(m.PcrSelections).Pcrs);
        var hcl = HclReport.Parse(SnpFile("hcl-report.bin"));
        using var vd = HclVariableData.Parse(hcl.VariableData);
        var s = TpmSignature.Parse(SnpFile("tpm-quote.sig"), vd.Ak);
        Assert.Equal(("RSASSA", 256), (s.AlgorithmName, s.Rsa.Length));
    }

    public static TheoryData<string, ushort> Schemes => new() { { "P-256", 0x0018 }, { "P-384", 0x0018 }, { "RSA", 0x0014 }, { "RSA", 0x0016 } };

    [Theory]
    [MemberData(nameof(Schemes))]
    public void Marshalled_tpmt_signatures_verify_for_each_scheme_and_fail_when_flipped(string keyType, ushort scheme)
    {
        var (_, message, _) = QuoteParts(Json(SnpFile("evidence-v1.json"))["tpm_quote"]!);
        using var ec = keyType == "RSA" ? null : ECDsa.Create(keyType == "P-256" ? ECCurve.NamedCurves.nistP256 : ECCurve.NamedCurves.nistP384);
        using var rsa = keyType == "RSA" ? RSA.Create(2048) : null;
        var hash = keyType == "P-384" ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256;
        byte[] marshalled;
        string jwk;
        if (ec is not null)
        {
            var p = ec.ExportParameters(false);
            jwk = JsonSerializer.Serialize(new { kty = "EC", crv = keyType, x = Base64Url(p.Q.X!), y = Base64Url(p.Q.Y!) });
            var sig = ec.SignData(message, hash);
            var half = sig.Length / 2;
            marshalled = [.. U16(scheme), .. U16(hash == HashAlgorithmName.SHA384 ? (ushort)0x000C : (ushort)0x000B), .. U16((ushort)half), .. sig[..half], .. U16((ushort)half), .. sig[half..]];
        }
        else
        {
            var p = rsa!.ExportParameters(false);
            jwk = JsonSerializer.Serialize(new { kty = "RSA", n = Base64Url(p.Modulus!), e = Base64Url(p.Exponent!) });
            var sig = rsa.SignData(message, hash, scheme == 0x0014 ? RSASignaturePadding.Pkcs1 : RSASignaturePadding.Pss);
            marshalled = [.. U16(scheme), .. U16(0x000B), .. U16((ushort)sig.Length), .. sig];
        }

        using var doc = JsonDocument.Parse(jwk);
        using var ak = AttestationKey.FromJwk(doc.RootElement, "jwk");
        var parsed = TpmSignature.Parse(marshalled, ak);
        Assert.Equal(scheme, parsed.Algorithm);
        Assert.Null(ak.Verify(parsed, message));
        Assert.Equal("invalid", ak.Verify(parsed, Flip(message, 10)));
        Assert.Equal("invalid", ak.Verify(TpmSignature.Parse(Flip(marshalled, marshalled.Length - 1), ak), message));
        Assert.Throws<EvidenceFormatException>(() => TpmSignature.Parse(marshalled.AsSpan(0, marshalled.Length - 1), ak));
    }

    [Fact]
    public void A_signature_of_the_other_key_type_is_refused_by_name()
    {
        var hcl = HclReport.Parse(SnpFile("hcl-report.bin"));
        using var vd = HclVariableData.Parse(hcl.VariableData);
        var ecdsa = TpmSignature.Parse([.. U16(0x0018), .. U16(0x000B), .. U16(32), .. new byte[32], .. U16(32), .. new byte[32]], vd.Ak);
        Assert.Equal("a ECDSA signature cannot be made by an RSA key", vd.Ak.Verify(ecdsa, [1, 2, 3]));
    }

    [Theory]
    [InlineData("{\"kty\":\"oct\",\"k\":\"AA\"}", "jwk.kty")]
    [InlineData("{\"kty\":\"RSA\",\"e\":\"AQAB\"}", "jwk.n")]
    [InlineData("{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}", "jwk.n")]
    [InlineData("{\"kty\":\"EC\",\"crv\":\"P-192\",\"x\":\"AA\",\"y\":\"AA\"}", "jwk.crv")]
    [InlineData("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}", "jwk.x")]
    public void Bad_ak_jwks_are_named(string json, string field)
    {
        using var doc = JsonDocument.Parse(json);
        Assert.Equal(field, Assert.Throws<EvidenceFormatException>(() => AttestationKey.FromJwk(doc.RootElement, "jwk")).Field);
    }

    [Fact]
    public void Variable_data_without_an_ak_is_named()
    {
        var e = Assert.Throws<EvidenceFormatException>(() => HclVariableData.Parse("{\"keys\":[{\"kid\":\"HCLEkPub\",\"kty\":\"RSA\"}]}"u8.ToArray()));
        Assert.Equal("hcl_report.variable_data.keys", e.Field);
    }

    /// <summary>Null when the bincode quote verifies; else "signature" or "pcrs".</summary>
    private static string? Verify(byte[] bin, AttestationKey ak, byte[] nonce)
    {
        var at = 0;
        byte[] Next(int? fixedLength = null)
        {
            var n = fixedLength ?? (int)BinaryPrimitives.ReadUInt64LittleEndian(bin.AsSpan(at));
            at += fixedLength is null ? 8 : 0;
            var v = bin.AsSpan(at, n).ToArray();
            at += n;
            return v;
        }

        var signature = Next();
        var message = Next();
        var count = (int)BinaryPrimitives.ReadUInt64LittleEndian(bin.AsSpan(at));
        at += 8;
        var pcrs = Enumerable.Range(0, count).Select(_ => Next(32)).ToList();
        Assert.Equal(bin.Length, at);

        var m = TpmQuoteMessage.Parse(message);
        Assert.Equal(nonce, m.ExtraData.ToArray());
        if (ak.Verify(TpmSignature.Parse(signature, ak), message) is not null)
        {
            return "signature";
        }

        return SHA256.HashData(pcrs.SelectMany(p => p).ToArray()).AsSpan().SequenceEqual(m.PcrDigest.Span) ? null : "pcrs";
    }

    private static byte[] U16(ushort v)
    {
        var b = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(b, v);
        return b;
    }

    private static byte[] Zero(byte[] bytes, int offset)
    {
        var copy = (byte[])bytes.Clone();
        copy[offset] = 0;
        return copy;
    }

    private static byte[] Flip(byte[] bytes, int offset)
    {
        var copy = (byte[])bytes.Clone();
        copy[offset] ^= 1;
        return copy;
    }
}
