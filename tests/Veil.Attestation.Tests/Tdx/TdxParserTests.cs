using System.Text;
using Veil.Attestation.EventLog;
using Veil.Attestation.Tdx;
using Veil.Tests.Shared;
using static Veil.Attestation.Tests.Tdx.TdxVectorCases;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.Tests.Tdx;

/// <summary>Malformed quotes, collateral and event logs are typed errors naming the field, never another exception.</summary>
public class TdxParserTests
{
    [Fact]
    public void Every_truncation_of_a_quote_is_a_named_error()
    {
        var quote = DcapTdx().Quote;
        var end = TdxQuote.Parse(quote).Raw.Length;
        for (var length = 0; length < end; length++)
        {
            var e = Assert.Throws<EvidenceFormatException>(() => TdxQuote.Parse(quote.AsSpan(0, length)));
            Assert.StartsWith("quote", e.Field, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Bytes_after_the_signature_data_are_tolerated_and_counted()
    {
        var quote = DcapTdx().Quote;
        var parsed = TdxQuote.Parse([.. quote, .. new byte[4096]]);
        Assert.Equal(70 + 4096, parsed.TrailingBytes);
    }

    [Theory]
    [InlineData(0, new byte[] { 3, 0 }, "quote.version")]
    [InlineData(4, new byte[] { 0, 0, 0, 0 }, "quote.tee_type")]
    [InlineData(0x278, new byte[] { 0xFF, 0xFF, 0xFF, 0x7F }, "quote.signature_data_len")]
    [InlineData(0x278 + 4 + 128, new byte[] { 5, 0 }, "quote.certification_data.type")]
    public void Field_errors_name_the_field(int offset, byte[] value, string field)
    {
        var quote = DcapTdx().Quote;
        value.CopyTo(quote, offset);
        Assert.Equal(field, Assert.Throws<EvidenceFormatException>(() => TdxQuote.Parse(quote)).Field);
    }

    [Fact]
    public void A_v5_quote_with_an_sgx_body_type_is_refused()
    {
        var quote = DcapOutdated().Quote;
        quote[0x30] = 1;
        Assert.Equal("quote.body_type", Assert.Throws<EvidenceFormatException>(() => TdxQuote.Parse(quote)).Field);
    }

    [Fact]
    public void Hex_with_and_without_0x_and_base64_decode_to_the_same_quote()
    {
        var raw = DcapTdx().Quote;
        var hexText = Vectors.Bytes("dcap-qvl", "sample", "tdx-quote.hex");
        Assert.Equal(5006, TdxQuoteInput.Decode(hexText).Length);
        Assert.Equal(raw, TdxQuoteInput.Decode(Encoding.ASCII.GetBytes(Convert.ToHexString(raw))));
        Assert.Equal(raw, TdxQuoteInput.Decode(Encoding.ASCII.GetBytes("0x" + Convert.ToHexStringLower(raw) + "\n")));
        Assert.Equal(raw, TdxQuoteInput.Decode(Encoding.ASCII.GetBytes(Convert.ToBase64String(raw))));
        Assert.Equal(raw, TdxQuoteInput.Decode(Encoding.ASCII.GetBytes(Convert.ToBase64String(raw).TrimEnd('=').Replace('+', '-').Replace('/', '_'))));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("0x123")]
    [InlineData("not a quote at all!")]
    public void Text_that_is_not_a_quote_is_a_named_error(string text) =>
        Assert.StartsWith("quote", Assert.Throws<EvidenceFormatException>(() => TdxQuoteInput.Parse(Encoding.ASCII.GetBytes(text))).Field, StringComparison.Ordinal);

    [Theory]
    [InlineData("{", "collateral")]
    [InlineData("{}", "collateral.tcb_info")]
    [InlineData("[]", "collateral")]
    public void Bad_collateral_json_is_named(string json, string field) =>
        Assert.Equal(field, Assert.Throws<EvidenceFormatException>(() => TdxCollateral.FromJson(Encoding.UTF8.GetBytes(json))).Field);

    [Theory]
    [InlineData("\"fmspc\":\"B0C06F000000\"", "\"fmspc\":\"B0C06F\"", "tcb_info.fmspc")]
    [InlineData("\"tcbStatus\":\"UpToDate\"", "\"tcbStatus\":\"Fine\"", "tcb_info.tcbLevels[0].tcbStatus")]
    [InlineData("\"pcesvn\":11", "\"pcesvn\":-1", "tcb_info.tcbLevels[0].tcb.pcesvn")]
    [InlineData("\"nextUpdate\":\"2025-07-19T10:16:03Z\"", "\"nextUpdate\":\"soon\"", "tcb_info.nextUpdate")]
    [InlineData("\"nextUpdate\":\"2025-07-19T10:16:03Z\"", "\"nextUpdate\":\"7/19/2025\"", "tcb_info.nextUpdate")]
    [InlineData("\"tcbStatus\":\"OutOfDate\"", "\"tcbStatus\":\"UpToDate, OutOfDate\"", "tcb_info.tcbLevels[1].tcbStatus")]
    public void Tcb_info_field_errors_name_the_path(string find, string replace, string field)
    {
        var original = DcapCollateral("tdx_quote_collateral.json");
        var text = Encoding.UTF8.GetString(original.TcbInfoSigned.Body.Span);
        Assert.Contains(find, text, StringComparison.Ordinal);
        var edited = Encoding.UTF8.GetBytes(text.Replace(find, replace, StringComparison.Ordinal));
        Assert.Equal(field, Assert.Throws<EvidenceFormatException>(() => TcbInfo.Parse(edited)).Field);
    }

    [Fact]
    public async Task Malformed_but_signed_looking_collateral_is_a_named_failure_not_an_exception()
    {
        var original = DcapCollateral("tdx_quote_collateral.json");
        var broken = new TdxCollateral(original.TcbInfoSigned, original.TcbInfoIssuerChain, original.QeIdentitySigned,
            original.QeIdentityIssuerChain, new byte[] { 0x30, 0x03, 0x02, 0x01 }, original.PckCrlIssuerChain, original.RootCaCrlBytes);
        var verifier = new TdxVerifier(TdxCollateralSources.Fixed(broken), new FixedTimeProvider(DcapTdxTime));
        AssertFailed(await verifier.VerifyAsync(DcapTdx().Quote, null), "pck_crl");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(100)]
    public void Truncated_event_logs_are_named(int length)
    {
        var log = Vectors.Bytes("trustee", "deps", "eventlog", "test_data", "CCEL_data_ovmf");
        Assert.StartsWith("event_log", Assert.Throws<EvidenceFormatException>(() => TcgEventLog.Parse(log.AsSpan(0, length))).Field, StringComparison.Ordinal);
    }

    [Fact]
    public void An_event_cut_in_the_middle_is_named_with_its_position()
    {
        var log = Vectors.Bytes("trustee", "deps", "eventlog", "test_data", "CCEL_data_ovmf");
        var full = TcgEventLog.Parse(log);
        var third = full.Events[2];
        var cut = log.AsSpan(0, (int)(third.Data.Length > 0 ? IndexOf(log, third.Data.Span) + 1 : 0)).ToArray();
        var e = Assert.Throws<EvidenceFormatException>(() => TcgEventLog.Parse(cut));
        Assert.Equal("event_log.events[2].event_size", e.Field);
    }

    private static int IndexOf(byte[] log, ReadOnlySpan<byte> data) => log.AsSpan().IndexOf(data);
}
