using System.Text.Json;
using Veil.Protocol.Binding;
using Veil.Protocol.Client;
using Veil.Tests.Shared;

namespace Veil.Guest.Tests;

/// <summary>tee "tdx": Trustee's TDX evidence JSON from configfs-tsm (provider tdx_guest) serving real dcap-qvl quotes and a real CCEL.</summary>
public sealed class TdxEvidenceTests
{
    private const string Nonce = "WU9VUl9OT05DRV9IRVJFX0JBU0U2NF9TVFJJTkdfMzI=";
    private static readonly byte[] QuoteV4 = Vectors.Bytes("dcap-qvl", "sample", "tdx_quote");
    private static readonly byte[] QuoteV5 = Vectors.Bytes("dcap-qvl", "sample", "tdx_quote_outdated");

    /// <summary>REPORT_DATA of a TD quote: the last 64 bytes of the 584-byte TD 1.0 report body (v4 after the 48-byte header; v5 after a 6-byte body descriptor too).</summary>
    internal static byte[] ReportData(byte[] quote) => quote.AsSpan((quote[0] == 5 ? 54 : 48) + 520, 64).ToArray();

    private static string Str(JsonElement e, string name) => e.GetProperty(name).GetString()!;

    [Fact]
    public void Quote_and_ccel_become_trustee_tdx_evidence_and_inblob_is_the_report_data()
    {
        using var tsm = new TsmFolder("tdx_guest", QuoteV4);
        var ccel = Vectors.Bytes("trustee", "deps", "eventlog", "test_data", "CCEL_data");
        tsm.WriteCcel(ccel);
        using var key = TeeKey.CreateEc();
        var provider = new TdxEvidenceProvider(tsm.Attester(), tsm.CcelPath, new RecordedAgentBinding(ReportData(QuoteV4)));

        var evidence = provider.PrimaryEvidence(Nonce, key.PublicJson);

        Assert.Equal("tdx", provider.Tee);
        Assert.Equal(["cc_eventlog", "quote"], evidence.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(QuoteV4, Convert.FromBase64String(Str(evidence, "quote")));
        Assert.Equal(ccel, Convert.FromBase64String(Str(evidence, "cc_eventlog")));
        Assert.Equal(ReportData(QuoteV4), tsm.InBlob);
    }

    [Fact]
    public void Without_a_ccel_the_field_is_left_out_and_a_v5_quote_is_read_at_its_own_offset()
    {
        using var tsm = new TsmFolder("tdx_guest", QuoteV5);
        using var key = TeeKey.CreateEc();
        var evidence = new TdxEvidenceProvider(tsm.Attester(), tsm.CcelPath, new RecordedAgentBinding(ReportData(QuoteV5))).PrimaryEvidence(Nonce, key.PublicJson);
        Assert.Equal(["quote"], evidence.EnumerateObject().Select(p => p.Name));
        Assert.Equal(QuoteV5, Convert.FromBase64String(Str(evidence, "quote")));
    }

    [Fact]
    public void A_real_quote_never_matches_a_fresh_binding_so_the_agent_refuses_to_send_it()
    {
        using var tsm = new TsmFolder("tdx_guest", QuoteV4);
        using var key = TeeKey.CreateEc();
        var e = Assert.Throws<AttesterException>(() => new TdxEvidenceProvider(tsm.Attester(), tsm.CcelPath).PrimaryEvidence(Nonce, key.PublicJson, "{\"nvidia\":{}}"));
        Assert.Equal("configfs-tsm: quote.report_data: differs from the report data requested (stale or raced quote)", e.Message);

        // What it asked for was this session's binding, additional evidence included.
        Assert.Equal(ReportDataBinding.CpuReportData(Nonce, key.PublicJson, "{\"nvidia\":{}}"), tsm.InBlob);
    }

    [Theory]
    [InlineData("tee_type", "quote.tee_type: 0x00000000 is not TDX")]
    [InlineData("version", "quote.version: 3 is not a TDX quote version")]
    [InlineData("short", "too short for the TD report body")]
    [InlineData("provider", "provider 'sev_guest' gives snp evidence, not tdx")]
    public void Malformed_quotes_and_the_wrong_provider_are_refused_by_field(string damage, string message)
    {
        var quote = (byte[])QuoteV4.Clone();
        var provider = "tdx_guest";
        switch (damage)
        {
            case "tee_type":
                quote[4] = 0;
                break;
            case "version":
                quote[0] = 3;
                break;
            case "short":
                quote = quote[..600];
                break;
            default:
                provider = "sev_guest";
                quote = Vectors.Bytes("go-sev-guest", "verify-testdata", "attestation.bin");
                break;
        }

        using var tsm = new TsmFolder(provider, quote);
        using var key = TeeKey.CreateEc();
        var binding = new RecordedAgentBinding(damage == "provider" ? quote.AsSpan(0x50, 64).ToArray() : ReportData(QuoteV4));
        var e = Assert.Throws<AttesterException>(() => new TdxEvidenceProvider(tsm.Attester(), tsm.CcelPath, binding).PrimaryEvidence(Nonce, key.PublicJson));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Auto_detects_tdx_or_snp_from_the_configfs_tsm_provider()
    {
        using (var tdx = new TsmFolder("tdx_guest", QuoteV4))
        {
            Assert.IsType<TdxEvidenceProvider>(AttesterDetection.Evidence("auto", tdx.Root, "/nonexistent/sev-guest", tdx.CcelPath, () => TsmFolder.Entry));
            Assert.IsType<TdxEvidenceProvider>(AttesterDetection.Evidence("tdx", tdx.Root, "/nonexistent/sev-guest", tdx.CcelPath, () => TsmFolder.Entry));
        }

        using (var snp = new TsmFolder("sev_guest", QuoteV4))
        {
            Assert.IsType<SnpEvidenceProvider>(AttesterDetection.Evidence("auto", snp.Root, "/nonexistent/sev-guest", snp.CcelPath, () => TsmFolder.Entry));
        }

        using (var cca = new TsmFolder("arm-cca-guest", QuoteV4))
        {
            var e = Assert.Throws<AttesterException>(() => AttesterDetection.Evidence("auto", cca.Root, "/nonexistent/sev-guest", cca.CcelPath, () => TsmFolder.Entry));
            Assert.Contains("provider: 'arm-cca-guest' is not supported", e.Message, StringComparison.Ordinal);
        }

        var none = Assert.Throws<AttesterException>(() => AttesterDetection.Evidence("tdx", "/nonexistent/tsm/report", "/nonexistent/sev-guest"));
        Assert.Contains("/nonexistent/tsm/report: not present; TDX quotes come from configfs-tsm", none.Message, StringComparison.Ordinal);
        Assert.IsType<SampleEvidenceProvider>(AttesterDetection.Evidence("sample"));
    }
}
