using System.Text;
using Veil.Attestation.Nvidia;
using Veil.Attestation.Snp;
using Veil.Attestation.Tdx;
using Veil.Tests.Shared;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.Tests;

/// <summary>
/// Evidence given as a file of text: hex or base64 of the real evidence parses; any other text is "not a report"
/// (naming what it is), never a binary report "truncated: 12 bytes"; binary of the wrong size still says truncated.
/// </summary>
public sealed class EvidenceTextTests
{
    private static readonly byte[] Genoa = File.ReadAllBytes(Vectors.Path("TEE-Attestation-Verification", "tests-test_data", "genoa_attestation_report.bin"));
    private static readonly byte[] Quote = File.ReadAllBytes(Vectors.Path("dcap-qvl", "sample", "tdx_quote"));

    public static TheoryData<string> PlainTexts() => ["hello world\n", "# Veil\n\nRead me first.\n", "{not json", "zz"];

    /// <summary>As <c>xxd -p</c> writes it: 60 hex digits a line.</summary>
    private static byte[] XxdHex(byte[] b) =>
        Encoding.ASCII.GetBytes(string.Join("\n", Convert.ToHexStringLower(b).Chunk(60).Select(c => new string(c))) + "\n");

    /// <summary>As <c>base64</c> writes it: 76 characters a line.</summary>
    private static byte[] WrappedBase64(byte[] b) =>
        Encoding.ASCII.GetBytes(string.Join("\n", Convert.ToBase64String(b).Chunk(76).Select(c => new string(c))) + "\n");

    [Theory]
    [MemberData(nameof(PlainTexts))]
    public void Plain_text_is_not_a_report_quote_or_gpu_evidence(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var snp = Assert.Throws<EvidenceFormatException>(() => SnpEvidence.Parse(bytes));
        if (!text.StartsWith('{'))
        {
            Assert.Contains($"not a report: {bytes.Length} bytes of text", snp.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("truncated", snp.Message, StringComparison.Ordinal);
        }

        var tdx = Assert.Throws<EvidenceFormatException>(() => TdxQuoteInput.Parse(bytes));
        Assert.Contains($"not a quote: {bytes.Length} bytes of text, neither hex nor base64", tdx.Message, StringComparison.Ordinal);
        if (!text.StartsWith('{'))
        {
            var gpu = Assert.Throws<EvidenceFormatException>(() => NvidiaEvidence.Parse(bytes));
            Assert.Contains($"not GPU evidence: {bytes.Length} bytes of text", gpu.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Hex_as_xxd_writes_it_and_wrapped_base64_parse_to_the_same_report_and_quote()
    {
        Assert.Equal(SnpEvidence.Parse(Genoa).Report.Measurement.ToArray(), SnpEvidence.Parse(XxdHex(Genoa)).Report.Measurement.ToArray());
        Assert.Equal(SnpEvidence.Parse(Genoa).Report.Measurement.ToArray(), SnpEvidence.Parse(WrappedBase64(Genoa)).Report.Measurement.ToArray());
        Assert.Equal(Quote, TdxQuoteInput.Decode(XxdHex(Quote)));
        Assert.Equal(Quote, TdxQuoteInput.Decode(WrappedBase64(Quote)));
        Assert.Equal(Quote, TdxQuoteInput.Decode(Encoding.ASCII.GetBytes("0x" + Convert.ToHexString(Quote))));
    }

    [Fact]
    public void Text_of_the_wrong_length_says_what_it_decodes_to()
    {
        var e = Assert.Throws<EvidenceFormatException>(() => SnpEvidence.Parse(XxdHex(Genoa[..1000])));
        Assert.Contains("whose hex decodes to 1000 bytes; an SEV-SNP report is 1184 bytes (2368 hex digits)", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<EvidenceFormatException>(() => SnpEvidence.Parse(WrappedBase64([.. Genoa, 0])));
        Assert.Contains("whose base64 decodes to 1185 bytes", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<EvidenceFormatException>(() => SnpEvidence.Parse("abc"u8.ToArray()));
        Assert.Contains("odd number of digits (3)", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(12)]
    [InlineData(1183)]
    [InlineData(1185)]
    public void Binary_of_the_wrong_size_is_still_truncated_or_oversized(int length)
    {
        var bytes = length <= Genoa.Length ? Genoa[..length] : [.. Genoa, .. new byte[length - Genoa.Length]];
        var e = Assert.Throws<EvidenceFormatException>(() => SnpEvidence.Parse(bytes));
        Assert.Contains(length < 1184 ? $"truncated: {length} bytes" : $"oversized: {length} bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Binary_that_is_no_spdm_report_says_so()
    {
        var e = Assert.Throws<EvidenceFormatException>(() => NvidiaEvidence.Parse([0x00, 0x01, 0x02, 0xFF]));
        Assert.Contains("not GPU evidence: 4 bytes of binary data that do not start with an SPDM GET_MEASUREMENTS request", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("hello\n", true)]
    [InlineData("héllo ✓\r\n\t", true)]
    [InlineData("a\0b", false)]
    [InlineData("a\u007fb", false)]
    public void Text_is_printable_utf8_with_line_breaks(string s, bool text)
    {
        Assert.Equal(text, EvidenceText.IsText(Encoding.UTF8.GetBytes(s)));
        Assert.False(EvidenceText.IsText([0x68, 0xC3])); // truncated UTF-8
    }
}
