using System.Collections.Concurrent;
using Veil.Attestation.AzureVtpm;
using static Veil.Attestation.Tests.AzureVtpm.AzureVectors;

namespace Veil.Attestation.Tests.AzureVtpm;

/// <summary>
/// Every signed byte flipped is refused (the quote message and signature, the PCR values, the HCL report up to the
/// end of its variable data, the SNP report inside it; for TDX also the TD quote's signed bytes and the TD report
/// fields it quotes), and every truncation is a named format error. One bit per byte: the SNP and TDX verifiers'
/// own tests flip every bit of their reports.
/// </summary>
public class AzureVtpmTamperTests
{
    private static readonly (byte[] Signature, byte[] Message, List<byte[]> Pcrs) V2Quote = QuoteParts(Json(SnpFile("evidence-v2.json"))["tpm_quote"]!);
    private static readonly byte[] V2Hcl = FromBase64Url(Json(SnpFile("evidence-v2.json"))["hcl_report"]!.GetValue<string>());
    private static readonly byte[] V2Vcek = FromBase64Url(Json(SnpFile("evidence-v2.json"))["vcek"]!.GetValue<string>());

    private static byte[] V2(byte[]? hcl = null, byte[]? signature = null, byte[]? message = null, List<byte[]>? pcrs = null) =>
        SnpV1(hcl ?? V2Hcl, Quote(signature ?? V2Quote.Signature, message ?? V2Quote.Message, pcrs ?? V2Quote.Pcrs), V2Vcek, version: 2);

    [Fact]
    public async Task The_untouched_v2_parts_verify()
    {
        var result = await SnpVerifier().VerifyAsync(V2(), V2ReportData);
        Assert.True(result.Verified, Checks(result));
    }

    [Fact]
    public async Task Every_flipped_byte_of_the_quote_message_signature_and_pcrs_is_refused()
    {
        var variants = new List<(string Where, Func<byte[]> Make)>();
        for (var i = 0; i < V2Quote.Message.Length; i++)
        {
            var at = i;
            variants.Add(($"message[{at}]", () => V2(message: Flip(V2Quote.Message, at))));
        }

        for (var i = 0; i < V2Quote.Signature.Length; i++)
        {
            var at = i;
            variants.Add(($"signature[{at}]", () => V2(signature: Flip(V2Quote.Signature, at))));
        }

        for (var p = 0; p < V2Quote.Pcrs.Count; p++)
        {
            var pcr = p;
            variants.Add(($"pcrs[{pcr}]", () => V2(pcrs: [.. V2Quote.Pcrs.Select((v, j) => j == pcr ? Flip(v, 31) : v)])));
        }

        var verifier = SnpVerifier();
        Assert.Empty(await Accepted(variants, e => verifier.VerifyAsync(e, V2ReportData)));
    }

    [Fact]
    public async Task Every_flipped_byte_of_the_hcl_report_up_to_its_variable_data_end_is_refused()
    {
        var end = HclReport.Parse(V2Hcl).VariableData.Length + HclReport.VariableDataOffset;
        var variants = Enumerable.Range(0, end).Select(i => ($"hcl_report[0x{i:x3}]", (Func<byte[]>)(() => V2(hcl: Flip(V2Hcl, i))))).ToList();
        var verifier = SnpVerifier();
        Assert.Empty(await Accepted(variants, e => verifier.VerifyAsync(e, V2ReportData)));
    }

    [Fact]
    public async Task Padding_after_the_variable_data_is_tolerated_as_the_nv_index_leaves_it()
    {
        var padded = V2(hcl: [.. V2Hcl, 0, 0, 0, 0]);
        Assert.True((await SnpVerifier().VerifyAsync(padded, V2ReportData)).Verified);
    }

    [Fact]
    public async Task Every_flipped_signed_byte_of_the_tdx_evidence_is_refused()
    {
        var hcl = TdxFile("hcl-report.bin");
        var td = TdxFile("td-quote.bin");
        var quote = QuoteParts(Json(TdxFile("tpm-quote-v1.json")));
        byte[] Make(byte[]? h = null, byte[]? t = null, byte[]? m = null) => TdxV1(h ?? hcl, Quote(quote.Signature, m ?? quote.Message, quote.Pcrs), t ?? td);

        var parsed = HclReport.Parse(hcl);
        var variants = new List<(string, Func<byte[]>)>();
        // The HCL report's header, request data and variable data, and the TD report fields the quote carries:
        // REPORTDATA (0x80..0xbf) and TDINFO's attributes to RTMR3 (0x200..0x38f). MAC, CPUSVN and TEE_TCB_INFO of a
        // TD report only the local CPU can check are not compared, so they are left out here.
        var offsets = Enumerable.Range(0, HclReport.HeaderLength)
            .Concat(Enumerable.Range(HclReport.HeaderLength + 0x80, 64))
            .Concat(Enumerable.Range(HclReport.HeaderLength + 0x200, 400))
            .Concat(Enumerable.Range(HclReport.RequestDataOffset, HclReport.RequestDataHeaderLength + parsed.VariableData.Length));
        variants.AddRange(offsets.Select(i => ($"hcl_report[0x{i:x3}]", (Func<byte[]>)(() => Make(h: Flip(hcl, i))))));
        // The TD quote's header and body (what its attestation key signs) and that signature.
        variants.AddRange(Enumerable.Range(0, 48 + 584 + 4 + 64).Select(i => ($"td_quote[0x{i:x3}]", (Func<byte[]>)(() => Make(t: Flip(td, i))))));
        variants.AddRange(Enumerable.Range(0, quote.Message.Length).Select(i => ($"message[{i}]", (Func<byte[]>)(() => Make(m: Flip(quote.Message, i))))));

        var verifier = TdxVerifier(requireCollateral: false);
        Assert.Empty(await Accepted(variants, e => verifier.VerifyAsync(e, Challenge)));
    }

    [Fact]
    public void Every_truncation_of_the_hcl_report_and_the_quote_message_is_a_named_format_error()
    {
        var end = HclReport.Parse(V2Hcl).VariableData.Length + HclReport.VariableDataOffset;
        for (var n = 0; n < end; n++)
        {
            var e = Assert.Throws<EvidenceFormatException>(() => HclReport.Parse(V2Hcl.AsSpan(0, n)));
            Assert.StartsWith("hcl_report", e.Field, StringComparison.Ordinal);
            Assert.Contains(n < HclReport.VariableDataOffset ? "truncated" : "declared", e.Reason, StringComparison.Ordinal);
        }

        for (var n = 0; n < V2Quote.Message.Length; n++)
        {
            var e = Assert.Throws<EvidenceFormatException>(() => TpmQuoteMessage.Parse(V2Quote.Message.AsSpan(0, n)));
            Assert.StartsWith("tpm_quote.message.", e.Field, StringComparison.Ordinal);
            Assert.Contains("truncated", e.Reason, StringComparison.Ordinal);
        }

        var over = Assert.Throws<EvidenceFormatException>(() => TpmQuoteMessage.Parse([.. V2Quote.Message, 0]));
        Assert.Equal(("tpm_quote.message", "oversized: 1 bytes after the end of the structure"), (over.Field, over.Reason));
    }

    [Fact]
    public async Task Truncated_parts_of_the_evidence_document_are_named_errors_never_a_pass()
    {
        var cases = new List<(string Field, byte[] Evidence)>
        {
            ("tpm_quote.signature", V2(signature: V2Quote.Signature[..255])),
            ("tpm_quote.message.pcr_digest", V2(message: V2Quote.Message[..^1])),
            ("tpm_quote.pcrs", V2(pcrs: V2Quote.Pcrs[..23])),
            ("az-snp-vtpm evidence.tpm_quote.pcrs[3]", V2(pcrs: [.. V2Quote.Pcrs.Select((p, i) => i == 3 ? p[..31] : p)])),
            ("hcl_report.request_data.variable_data_size", V2(hcl: V2Hcl[..2000])),
            ("hcl_report", V2(hcl: V2Hcl[..1000])),
            ("hcl_report.report.version", V2(hcl: Zero(V2Hcl, HclReport.HeaderLength, 4))),
        };
        foreach (var (field, evidence) in cases)
        {
            var e = await Assert.ThrowsAsync<EvidenceFormatException>(() => SnpVerifier().VerifyAsync(evidence, V2ReportData));
            Assert.True(e.Field.StartsWith(field, StringComparison.Ordinal), $"{field}: got {e.Field}: {e.Reason}");
        }
    }

    private static async Task<List<string>> Accepted(List<(string Where, Func<byte[]> Make)> variants, Func<byte[], Task<VerificationResult>> verify)
    {
        var accepted = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(variants, async (v, _) =>
        {
            try
            {
                if ((await verify(v.Make())).Verified)
                {
                    accepted.Add(v.Where);
                }
            }
            catch (EvidenceFormatException)
            {
                // Refused by the parser, with a named field.
            }
        });
        return [.. accepted.Order(StringComparer.Ordinal)];
    }

    private static byte[] Flip(byte[] bytes, int offset)
    {
        var copy = (byte[])bytes.Clone();
        copy[offset] ^= 1;
        return copy;
    }

    private static byte[] Zero(byte[] bytes, int offset, int length)
    {
        var copy = (byte[])bytes.Clone();
        copy.AsSpan(offset, length).Clear();
        return copy;
    }
}
