using System.Text;
using Veil.Abi.Tee;
using Veil.Attestation.Snp;
using Veil.Attestation.Tests.Snp;
using Veil.Attestation.Tests.Tdx;
using Veil.Attestation.Verification;
using Veil.Tests.Shared;

namespace Veil.Attestation.Tests.Verification;

/// <summary>
/// The common verifier contract on real vectors: one factory builds every TEE's verifier from one set of collateral
/// options, each accepts the evidence forms its readers do, binds report data and init-data, and refuses what it
/// cannot use.
/// </summary>
public sealed class EvidenceVerifierFactoryTests
{
    private static readonly string[] Ms = ["TEE-Attestation-Verification", "tests-test_data"];

    private static EvidenceVerifierFactory Snp(DateTimeOffset at) => new(new CollateralOptions
    {
        Time = new FixedTimeProvider(at),
        SnpSigningCertificate = SnpVectorCases.Cert([.. Ms, "genoa_vcek.pem"]),
        SnpCertificateChain = SnpVectorCases.Certs([.. Ms, "genoa_ask.pem"]),
    });

    private static byte[] Genoa => Vectors.Bytes([.. Ms, "genoa_attestation_report.bin"]);

    [Fact]
    public void The_factory_has_a_verifier_for_every_tee_veil_verifies_and_no_other()
    {
        var factory = new EvidenceVerifierFactory(new CollateralOptions { AllowSample = true, TdxWithoutCollateral = true, NvidiaCollateralDir = Path.GetTempPath() });
        Assert.Equal(TeeNames.Verified.Order(StringComparer.Ordinal), factory.Tees.Order(StringComparer.Ordinal));
        Assert.All(factory.Tees, t => Assert.Equal(t, factory.Create(t).Tee));
        Assert.All(factory.Tees, t => Assert.Null(factory.Unavailable(t)));
        Assert.Same(factory.Create(TeeNames.Snp), factory.Create(TeeNames.Snp));
        Assert.Throws<ArgumentException>(() => factory.Create("sgx"));
    }

    [Fact]
    public void A_tee_without_what_it_needs_is_unavailable_with_the_reason()
    {
        var factory = new EvidenceVerifierFactory(new CollateralOptions());
        Assert.Contains("proves nothing", factory.Unavailable(TeeNames.Sample), StringComparison.Ordinal);
        Assert.Contains("Intel collateral", factory.Unavailable(TeeNames.Tdx), StringComparison.Ordinal);
        Assert.Contains("Intel collateral", factory.Unavailable(TeeNames.AzTdxVtpm), StringComparison.Ordinal);
        Assert.Contains("reference manifests", factory.Unavailable(TeeNames.Nvidia), StringComparison.Ordinal);
        Assert.Contains("no verifier", factory.Unavailable("sgx"), StringComparison.Ordinal);
        Assert.Null(factory.Unavailable(TeeNames.Snp));
        Assert.Null(factory.Unavailable(TeeNames.AzSnpVtpm));
    }

    [Fact]
    public void Options_that_cannot_work_are_refused_when_the_factory_is_built()
    {
        Assert.Throws<ArgumentException>(() => new EvidenceVerifierFactory(new CollateralOptions { KdsUrl = new Uri("https://kdsintf.amd.com") }));
        Assert.Throws<ArgumentException>(() => new EvidenceVerifierFactory(new CollateralOptions { TdxCollateral = TdxVectorCases.DcapCollateral("tdx_quote_collateral.json"), TdxCollateralDir = "/x" }));
        using var http = new HttpClient();
        Assert.Throws<ArgumentException>(() => new EvidenceVerifierFactory(new CollateralOptions { Http = http, OcspResponder = new Uri("https://ocsp.example") }));
    }

    [Fact]
    public async Task An_snp_report_verifies_through_the_contract_as_through_its_own_verifier()
    {
        var direct = await SnpVectorCases.Ms("genoa").VerifyAsync();
        var viaContract = await Snp(SnpVectorCases.MsTime).Create(TeeNames.Snp).VerifyAsync(new EvidenceInput(Genoa));
        Assert.True(viaContract.Verified, string.Join("; ", viaContract.Failures));
        Assert.Equal(direct.Claims.Keys.Order(StringComparer.Ordinal), viaContract.Claims.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(direct.Claims["snp.measurement"], viaContract.Claims["snp.measurement"]);
    }

    [Fact]
    public async Task Report_data_time_and_init_data_are_bound_with_named_failures()
    {
        var verifier = Snp(SnpVectorCases.MsTime).Create(TeeNames.Snp);
        var wrongData = await verifier.VerifyAsync(new EvidenceInput(Genoa) { ExpectedReportData = Enumerable.Repeat((byte)0xA5, 64).ToArray() });
        Assert.Contains(wrongData.Failures, f => f.Check.EndsWith("report_data", StringComparison.Ordinal));

        var late = await Snp(DateTimeOffset.Parse("2060-01-01T00:00:00Z")).Create(TeeNames.Snp).VerifyAsync(new EvidenceInput(Genoa));
        Assert.False(late.Verified);

        // The report's own HOST_DATA is the digest an init-data document would have had to produce; any other is refused.
        var hostData = Convert.FromHexString((string)(await verifier.VerifyAsync(new EvidenceInput(Genoa))).Claims["snp.host_data"]);
        var bound = await verifier.VerifyAsync(new EvidenceInput(Genoa) { InitDataDigest = hostData });
        Assert.True(bound.Verified, string.Join("; ", bound.Failures));
        var other = (byte[])hostData.Clone();
        other[0] ^= 1;
        var unbound = await verifier.VerifyAsync(new EvidenceInput(Genoa) { InitDataDigest = other });
        var failure = Assert.Single(unbound.Failures);
        Assert.Equal("init_data.binding", failure.Check);
    }

    [Fact]
    public async Task A_tdx_quote_verifies_raw_hex_and_in_trustee_json_alike()
    {
        var c = TdxVectorCases.DcapTdx();
        var verifier = new EvidenceVerifierFactory(new CollateralOptions { Time = new FixedTimeProvider(c.At), TdxCollateral = c.Collateral() }).Create(TeeNames.Tdx);
        var raw = await verifier.VerifyAsync(new EvidenceInput(c.Quote));
        var hex = await verifier.VerifyAsync(new EvidenceInput(Encoding.ASCII.GetBytes(Convert.ToHexString(c.Quote))));
        var json = await verifier.VerifyAsync(new EvidenceInput(Encoding.UTF8.GetBytes($"{{\"quote\":\"{Convert.ToBase64String(c.Quote)}\"}}")));
        Assert.True(raw.Verified, string.Join("; ", raw.Failures));
        Assert.Equal(raw.Claims["tdx.mr_td"], hex.Claims["tdx.mr_td"]);
        Assert.Equal(raw.Claims["tdx.mr_td"], json.Claims["tdx.mr_td"]);
        Assert.Equal(raw.Verified, json.Verified);

        var mrConfig = Convert.FromHexString((string)raw.Claims["tdx.mr_config_id"]);
        Assert.True((await verifier.VerifyAsync(new EvidenceInput(c.Quote) { InitDataDigest = mrConfig })).Verified);
        mrConfig[47] ^= 0x80;
        Assert.Contains((await verifier.VerifyAsync(new EvidenceInput(c.Quote) { InitDataDigest = mrConfig })).Failures, f => f.Check == "init_data.binding");
    }

    [Fact]
    public async Task An_event_log_inside_the_json_and_another_beside_it_is_refused()
    {
        var quote = Vectors.Bytes("go-tdx-guest", "testing-testdata", "ccel", "cos-113-tdx-quote.dat");
        var log = Vectors.Bytes("go-tdx-guest", "testing-testdata", "ccel", "ccel_data.dat");
        var verifier = new EvidenceVerifierFactory(new CollateralOptions { Time = new FixedTimeProvider(DateTimeOffset.Parse("2025-01-01T00:00:00Z")), TdxWithoutCollateral = true }).Create(TeeNames.Tdx);
        var json = Encoding.UTF8.GetBytes($"{{\"quote\":\"{Convert.ToBase64String(quote)}\",\"cc_eventlog\":\"{Convert.ToBase64String(log)}\"}}");

        var replayed = await verifier.VerifyAsync(new EvidenceInput(json));
        Assert.True(replayed.Verified, string.Join("; ", replayed.Failures));
        Assert.True((long)replayed.Claims["tdx.event_log.count"] > 10);
        var beside = await verifier.VerifyAsync(new EvidenceInput(quote) { EventLog = log });
        Assert.Equal(replayed.Claims["tdx.event_log.count"], beside.Claims["tdx.event_log.count"]);

        var e = await Assert.ThrowsAsync<EvidenceFormatException>(() => verifier.VerifyAsync(new EvidenceInput(json) { EventLog = log }));
        Assert.Equal("tdx evidence.cc_eventlog", e.Field);
    }

    [Theory]
    [InlineData("{\"quote\":1}", "tdx evidence.quote")]
    [InlineData("{\"quote\":\"@@@\"}", "tdx evidence.quote")]
    [InlineData("{}", "tdx evidence.quote")]
    [InlineData("{\"quote\":", "tdx evidence")]
    public async Task Malformed_trustee_tdx_json_names_the_field(string json, string field)
    {
        var verifier = new EvidenceVerifierFactory(new CollateralOptions { TdxWithoutCollateral = true }).Create(TeeNames.Tdx);
        var e = await Assert.ThrowsAsync<EvidenceFormatException>(() => verifier.VerifyAsync(new EvidenceInput(Encoding.UTF8.GetBytes(json))));
        Assert.Equal(field, e.Field);
    }

    [Fact]
    public async Task An_attachment_the_tee_does_not_use_is_refused_not_ignored()
    {
        var factory = new EvidenceVerifierFactory(new CollateralOptions { AllowSample = true, TdxWithoutCollateral = true });
        await Assert.ThrowsAsync<EvidenceFormatException>(() => factory.Create(TeeNames.Tdx).VerifyAsync(new EvidenceInput(new byte[10]) { CertTable = new byte[10] }));
        await Assert.ThrowsAsync<EvidenceFormatException>(() => factory.Create(TeeNames.Snp).VerifyAsync(new EvidenceInput(Genoa) { EventLog = new byte[10] }));
        await Assert.ThrowsAsync<EvidenceFormatException>(() => factory.Create(TeeNames.AzSnpVtpm).VerifyAsync(new EvidenceInput("{}"u8.ToArray()) { CertTable = new byte[10] }));
        await Assert.ThrowsAsync<EvidenceFormatException>(() => factory.Create(TeeNames.Nvidia).VerifyAsync(new EvidenceInput("[]"u8.ToArray()) { InitDataDigest = new byte[32] }));
        await Assert.ThrowsAsync<EvidenceFormatException>(() => factory.Create(TeeNames.AzSnpVtpm).VerifyAsync(new EvidenceInput("{}"u8.ToArray()) { InitDataDigest = new byte[48] }));
    }

    [Fact]
    public async Task The_sample_tee_without_expected_report_data_fails_rather_than_passes()
    {
        var verifier = new EvidenceVerifierFactory(new CollateralOptions { AllowSample = true }).Create(TeeNames.Sample);
        var evidence = Encoding.UTF8.GetBytes($"{{\"svn\":\"1\",\"report_data\":\"{Convert.ToBase64String(new byte[48])}\"}}");
        Assert.False((await verifier.VerifyAsync(new EvidenceInput(evidence))).Verified);
        Assert.True((await verifier.VerifyAsync(new EvidenceInput(evidence) { ExpectedReportData = new byte[48] })).Verified);
        await Assert.ThrowsAsync<EvidenceFormatException>(() => verifier.VerifyAsync(new EvidenceInput("not json"u8.ToArray())));
    }

    [Fact]
    public async Task Azure_snp_vtpm_evidence_verifies_through_the_contract()
    {
        var factory = new EvidenceVerifierFactory(new CollateralOptions { Time = new FixedTimeProvider(AzureVtpm.AzureVectors.At) });
        var direct = await AzureVtpm.AzureVectors.SnpVerifier().VerifyAsync(AzureVtpm.AzureVectors.SnpFile("evidence-v2.json"), AzureVtpm.AzureVectors.V2ReportData);
        var viaContract = await factory.Create(TeeNames.AzSnpVtpm).VerifyAsync(new EvidenceInput(AzureVtpm.AzureVectors.SnpFile("evidence-v2.json")) { ExpectedReportData = AzureVtpm.AzureVectors.V2ReportData });
        Assert.True(viaContract.Verified, string.Join("; ", viaContract.Failures));
        Assert.Equal(direct.Verified, viaContract.Verified);
        Assert.Equal(direct.Failures.Select(f => f.Check), viaContract.Failures.Select(f => f.Check));
        Assert.Equal(direct.Claims.Count, viaContract.Claims.Count);
    }
}
