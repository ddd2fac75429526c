using Veil.Tests.Shared;

namespace Veil.Guest.Tests;

/// <summary>configfs-tsm against a temporary folder laid out like /sys/kernel/config/tsm/report, serving real report bytes.</summary>
public sealed class ConfigFsTsmTests : IDisposable
{
    private const string Entry = "veil-test";
    private static readonly byte[] ReportData = [1, 2, 3, 4, 5];
    private readonly string root = Path.Combine(Path.GetTempPath(), "veil-tsm-" + Guid.NewGuid().ToString("N"), "report");
    private readonly byte[] snpReport = Vectors.Bytes("go-sev-guest", "verify-testdata", "attestation.bin");

    private string EntryDir => Path.Combine(root, Entry);

    /// <summary>The attributes the kernel would show after our writes (generation = number of writes).</summary>
    private void Kernel(byte[] outblob, string provider = "sev_guest", int generation = 1, byte[]? auxblob = null, string? privlevelFloor = null)
    {
        Directory.CreateDirectory(EntryDir);
        File.WriteAllBytes(Path.Combine(EntryDir, "outblob"), outblob);
        File.WriteAllText(Path.Combine(EntryDir, "provider"), provider + "\n");
        File.WriteAllText(Path.Combine(EntryDir, "generation"), generation + "\n");
        if (auxblob is not null)
        {
            File.WriteAllBytes(Path.Combine(EntryDir, "auxblob"), auxblob);
        }

        if (privlevelFloor is not null)
        {
            File.WriteAllText(Path.Combine(EntryDir, "privlevel_floor"), privlevelFloor + "\n");
        }
    }

    private ConfigFsTsmAttester Attester(int? privLevel = null) => new(root, privLevel, () => Entry);

    [Fact]
    public void Collects_real_snp_report_and_writes_inblob()
    {
        var aux = new byte[] { 9, 9, 9 };
        Kernel(snpReport, auxblob: aux);
        var e = Attester().Collect(ReportData);

        Assert.Equal("snp", e.Tee);
        Assert.Equal("sev_guest", e.Provider);
        Assert.Equal(snpReport, e.Report);
        Assert.Equal(aux, e.AuxBlob);
        Assert.Equal(ReportData, File.ReadAllBytes(Path.Combine(EntryDir, "inblob")));
    }

    [Fact]
    public void Privlevel_is_written_and_counted_in_generation()
    {
        Kernel(snpReport, generation: 2, privlevelFloor: "0");
        var e = Attester(privLevel: 2).Collect(ReportData);
        Assert.Equal(snpReport, e.Report);
        Assert.Equal("2", File.ReadAllText(Path.Combine(EntryDir, "privlevel")));
        Assert.Empty(e.AuxBlob);
    }

    [Fact]
    public void Privlevel_below_floor_is_refused()
    {
        Kernel(snpReport, generation: 2, privlevelFloor: "2");
        var ex = Assert.Throws<AttesterException>(() => Attester(privLevel: 1).Collect(ReportData));
        Assert.Contains("privlevel_floor", ex.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(7)]
    public void Generation_other_than_our_writes_is_a_race(int generation)
    {
        Kernel(snpReport, generation: generation);
        var ex = Assert.Throws<AttesterException>(() => Attester().Collect(ReportData));
        Assert.StartsWith("configfs-tsm: generation", ex.Message);
    }

    [Fact]
    public void Report_with_other_report_data_is_refused()
    {
        Kernel(snpReport);
        var ex = Assert.Throws<AttesterException>(() => Attester().Collect([1, 2, 3, 4, 6]));
        Assert.Contains("report.report_data", ex.Message);
    }

    [Fact]
    public void Tdx_provider_returns_the_quote()
    {
        var quote = Vectors.Bytes("go-tdx-guest", "testing-testdata", "tdx_prod_quote_SPR_E4.dat");
        Kernel(quote, provider: "tdx_guest");
        var e = Attester().Collect(ReportData);
        Assert.Equal("tdx", e.Tee);
        Assert.Equal(quote, e.Report);
    }

    [Fact]
    public void Sample_provider_returns_sample_evidence_carrying_the_inblob()
    {
        var outblob = System.Text.Encoding.UTF8.GetBytes($"{{\"svn\":\"1\",\"report_data\":\"{Convert.ToBase64String(ReportData)}\"}}");
        Kernel(outblob, provider: "sample");
        var e = Attester().Collect(ReportData);
        Assert.Equal(("sample", "sample"), (e.Tee, e.Provider));
        Assert.Equal(outblob, e.Report);
    }

    [Theory]
    [InlineData("{\"svn\":\"1\",\"report_data\":\"AQIDBAY=\"}", "outblob.report_data: differs")]
    [InlineData("{\"svn\":\"1\",\"report_data\":\"%%%\"}", "outblob.report_data: not standard base64")]
    [InlineData("{\"svn\":\"1\"}", "outblob.report_data: missing")]
    [InlineData("[1,2]", "outblob.report_data: missing")]
    [InlineData("\u0001\u0002 not json", "outblob: not JSON")]
    public void Sample_provider_outblob_that_does_not_carry_the_inblob_is_refused(string outblob, string reason)
    {
        Kernel(System.Text.Encoding.UTF8.GetBytes(outblob), provider: "sample");
        var ex = Assert.Throws<AttesterException>(() => Attester().Collect(ReportData));
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sample_evidence_provider_refuses_an_attester_serving_another_tee()
    {
        using var key = System.Text.Json.JsonDocument.Parse("{\"kty\":\"EC\"}");
        var wrongTee = new SampleEvidenceProvider(new FixedAttester(new CpuEvidence("snp", "sev_guest", snpReport, [])));
        Assert.Contains("gives snp evidence, not sample", Assert.Throws<AttesterException>(() => wrongTee.PrimaryEvidence("bm9uY2U=", key.RootElement)).Message, StringComparison.Ordinal);
    }

    private sealed class FixedAttester(CpuEvidence evidence) : ICpuAttester
    {
        public string Name => "fixed";

        public CpuEvidence Collect(ReadOnlySpan<byte> reportData) => evidence;
    }

    [Theory]
    [InlineData("arm-cca-guest", "provider")]
    [InlineData("sev_guest", "outblob")]
    public void Unknown_provider_or_bad_outblob_is_refused(string provider, string field)
    {
        Kernel(field == "outblob" ? snpReport[..100] : snpReport, provider: provider);
        var ex = Assert.Throws<AttesterException>(() => Attester().Collect(ReportData));
        Assert.Contains(field == "outblob" ? "report: 100 bytes" : "provider", ex.Message);
    }

    [Fact]
    public void Oversized_outblob_and_inblob_are_refused()
    {
        Kernel(new byte[(32 * 1024) + 1]);
        Assert.Contains("outblob: larger", Assert.Throws<AttesterException>(() => Attester().Collect(ReportData)).Message);
        Assert.Contains("inblob", Assert.Throws<AttesterException>(() => Attester().Collect(new byte[65])).Message);
    }

    [Fact]
    public void Missing_attributes_and_root_are_named()
    {
        Directory.CreateDirectory(EntryDir);
        Assert.Contains("outblob: missing", Assert.Throws<AttesterException>(() => Attester().Collect(ReportData)).Message);
        var absent = new ConfigFsTsmAttester(Path.Combine(root, "nope"));
        Assert.Contains("not present", Assert.Throws<AttesterException>(() => absent.Collect(ReportData)).Message);
    }

    [Fact]
    public void Detection_prefers_configfs_tsm_then_sev_guest()
    {
        Directory.CreateDirectory(root);
        var sevGuest = Path.Combine(Path.GetDirectoryName(root)!, "sev-guest");
        Assert.IsType<ConfigFsTsmAttester>(AttesterDetection.Detect("auto", root, sevGuest));
        Assert.Contains("no CPU attester", Assert.Throws<AttesterException>(() => AttesterDetection.Detect("auto", root + "-none", sevGuest)).Message);
        File.WriteAllBytes(sevGuest, []);
        Assert.IsType<SevGuestAttester>(AttesterDetection.Detect("auto", root + "-none", sevGuest));
        Assert.IsType<SevGuestAttester>(AttesterDetection.Detect("sev-guest", root, sevGuest));
        Assert.Throws<AttesterException>(() => AttesterDetection.Detect("tpm", root, sevGuest));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path.GetDirectoryName(root)!, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
