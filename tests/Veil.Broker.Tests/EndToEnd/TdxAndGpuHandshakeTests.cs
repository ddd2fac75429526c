using System.Text;
using System.Text.Json;
using Veil.Broker.Tests.Support;
using Veil.Protocol.Client;
using Veil.Protocol.Messages;
using Veil.Tests.Shared;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>
/// tee "tdx" (a real DCAP quote with Intel's collateral laid out as PCS bodies) and NVIDIA GPU evidence in
/// additional_evidence (a real H100 report with its RIMs), end to end through the broker and the strict policy.
/// </summary>
public class TdxAndGpuHandshakeTests
{
    private static readonly DateTimeOffset DcapTime = DateTimeOffset.Parse("2025-07-19T10:00:34Z", System.Globalization.CultureInfo.InvariantCulture);

    // Inside both the Trustee SNP VCEK's validity (from 2025-05-27) and the test_no_gpu RIMs' window (to 2025-06-22).
    private static readonly DateTimeOffset SnpAndRimTime = DateTimeOffset.Parse("2025-06-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private const string HistoryNonce = "4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e";

    [Fact]
    public async Task Real_tdx_quote_verifies_with_offline_pcs_collateral_and_is_released_under_strict()
    {
        var quote = Vectors.Bytes("dcap-qvl", "sample", "tdx_quote");
        var dir = DcapCollateralDirectory();
        await using var broker = await TestBroker.StartAsync(allowSample: false, binding: new FixedBinding(QuoteReportData(quote)), time: new TestClock(DcapTime),
            configure: o => o with { TdxCollateralDir = dir });
        var secret = Encoding.UTF8.GetBytes("tdx-" + Guid.NewGuid().ToString("N"));
        await broker.PutResourceAsync("default/model/tdx", secret);
        using var http = broker.NewHttpClient();
        var client = new KbsClient(http);
        using var key = TeeKey.CreateEc();
        var challenge = await client.AuthAsync("tdx");
        var token = await client.AttestAsync(TdxAttestation(challenge.Nonce, key, quote));
        SecretLedger.Add("EAR token", token);
        Assert.Equal(secret, key.Decrypt(await client.GetResourceAsync("default/model/tdx")));

        var cpu0 = Payload(token).GetProperty("submods").GetProperty("cpu0");
        Assert.Equal(("affirming", "tdx"), (cpu0.GetProperty("ear.status").GetString(), cpu0.GetProperty("veil.tee").GetString()));
        Assert.Equal("UpToDate", cpu0.GetProperty("ear.veraison.annotated-evidence").GetProperty("tdx").GetProperty("tdx.tcb_status").GetString());
    }

    [Fact]
    public async Task Tdx_quote_with_a_fresh_nonce_is_denied_for_report_data_and_tdx_without_collateral_is_not_supported()
    {
        var quote = Vectors.Bytes("dcap-qvl", "sample", "tdx_quote");
        await using (var broker = await TestBroker.StartAsync(allowSample: false, time: new TestClock(DcapTime), configure: o => o with { TdxCollateralDir = DcapCollateralDirectory() }))
        {
            using var http = broker.NewHttpClient();
            var client = new KbsClient(http);
            using var key = TeeKey.CreateEc();
            var challenge = await client.AuthAsync("tdx");
            var e = await Assert.ThrowsAsync<KbsClientException>(() => client.AttestAsync(TdxAttestation(challenge.Nonce, key, quote)));
            Assert.Equal((401, "AttestationFailed"), (e.Status, e.Kind));
            Assert.StartsWith("report data mismatch:", e.Detail, StringComparison.Ordinal);

            var bad = await client.AuthAsync("tdx");
            var malformed = new KbsAttestation(new RuntimeData(bad.Nonce, key.PublicJson), new TeeEvidence(JsonDocument.Parse("""{"quote":"not base64!"}""").RootElement.Clone(), ""));
            var e2 = await Assert.ThrowsAsync<KbsClientException>(() => client.AttestAsync(malformed));
            Assert.Equal("EvidenceInvalid", e2.Kind);
            Assert.Contains("tdx evidence.quote: not base64", e2.Detail, StringComparison.Ordinal);
        }

        await using (var plain = await TestBroker.StartAsync(allowSample: false))
        {
            using var http = plain.NewHttpClient();
            var e = await Assert.ThrowsAsync<KbsClientException>(() => new KbsClient(http).AuthAsync("tdx"));
            Assert.Equal("TeeNotSupported", e.Kind);
            Assert.Contains("--tdx-collateral-dir", e.Detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Snp_with_a_verified_h100_is_appraised_as_cpu0_and_gpu0_and_released()
    {
        await using var broker = await TestBroker.StartAsync(allowSample: false, binding: new FixedBinding(SnpVector.ReportData(), Convert.FromHexString(HistoryNonce)),
            time: new TestClock(SnpAndRimTime), configure: o => o with { NvidiaCollateralDir = RimDirectory() });
        var secret = Encoding.UTF8.GetBytes("gpu-" + Guid.NewGuid().ToString("N"));
        await broker.PutResourceAsync("default/model/gpu", secret);
        using var http = broker.NewHttpClient();
        var client = new KbsClient(http);
        using var key = TeeKey.CreateEc();
        var challenge = await client.AuthAsync("snp");
        var token = await client.AttestAsync(WithGpu(Handshake.SnpAttestation(challenge.Nonce, key)));
        SecretLedger.Add("EAR token", token);
        Assert.Equal(secret, key.Decrypt(await client.GetResourceAsync("default/model/gpu")));

        var submods = Payload(token).GetProperty("submods");
        Assert.Equal(["cpu0", "gpu0"], submods.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        var gpu0 = submods.GetProperty("gpu0");
        Assert.Equal(("affirming", "nvidia"), (gpu0.GetProperty("ear.status").GetString(), gpu0.GetProperty("veil.tee").GetString()));
        var claims = gpu0.GetProperty("ear.veraison.annotated-evidence").GetProperty("nvidia");
        Assert.True(claims.GetProperty("nvidia.measurements_match").GetBoolean());
        Assert.Equal(HistoryNonce, claims.GetProperty("nvidia.nonce").GetString());

        // The device evidence itself (chains, reports) is carried by digest only, so the token stays usable as a bearer header.
        var runtime = submods.GetProperty("cpu0").GetProperty("ear.veraison.annotated-evidence").GetProperty("runtime_data_claims");
        Assert.Equal(JsonValueKind.Null, runtime.GetProperty("additional-evidence").ValueKind);
        Assert.Equal(96, runtime.GetProperty("additional-evidence-sha384").GetString()!.Length);
        Assert.True(token.Length < 16 * 1024, $"token of {token.Length} characters");
        using var other = broker.NewHttpClient();
        Assert.Equal(secret, key.Decrypt(await new KbsClient(other).GetResourceAsync("default/model/gpu", token)));
    }

    [Fact]
    public async Task Gpu_evidence_for_another_nonce_or_without_rims_configured_is_refused()
    {
        await using (var broker = await TestBroker.StartAsync(allowSample: false, binding: new FixedBinding(SnpVector.ReportData()),
            time: new TestClock(SnpAndRimTime), configure: o => o with { NvidiaCollateralDir = RimDirectory() }))
        {
            using var http = broker.NewHttpClient();
            var client = new KbsClient(http);
            using var key = TeeKey.CreateEc();
            var challenge = await client.AuthAsync("snp");
            var e = await Assert.ThrowsAsync<KbsClientException>(() => client.AttestAsync(WithGpu(Handshake.SnpAttestation(challenge.Nonce, key))));
            Assert.Equal((401, "AttestationFailed"), (e.Status, e.Kind));
            Assert.Contains("nvidia evidence did not verify", e.Detail, StringComparison.Ordinal);
            Assert.Contains("nonce", e.Detail, StringComparison.Ordinal);
        }

        await using (var plain = await TestBroker.StartAsync(allowSample: false, binding: new FixedBinding(SnpVector.ReportData())))
        {
            using var http = plain.NewHttpClient();
            var client = new KbsClient(http);
            using var key = TeeKey.CreateEc();
            var challenge = await client.AuthAsync("snp");
            var e = await Assert.ThrowsAsync<KbsClientException>(() => client.AttestAsync(WithGpu(Handshake.SnpAttestation(challenge.Nonce, key))));
            Assert.Equal(("TeeNotSupported", 401), (e.Kind, e.Status));
            Assert.Contains("--nvidia-collateral-dir", e.Detail, StringComparison.Ordinal);
        }
    }

    private static KbsAttestation WithGpu(KbsAttestation a)
    {
        var device = new Dictionary<string, string>
        {
            ["arch"] = "HOPPER",
            ["evidence"] = File.ReadAllText(Vectors.Path("nvtrust", "history-2023-initial-samples", "attestationReport.txt")).Trim(),
            ["certificate"] = Convert.ToBase64String(Vectors.Bytes("nvtrust", "history-2023-initial-samples", "gpuAkCertChain.txt")),
        };
        var additional = JsonSerializer.Serialize(new Dictionary<string, object> { ["nvidia"] = new Dictionary<string, object> { ["device_evidence_list"] = new[] { device } } });
        return a with { TeeEvidence = a.TeeEvidence with { AdditionalEvidence = additional } };
    }

    private static string RimDirectory() => CollateralLayouts.HistoryH100Rims(Directory.CreateTempSubdirectory("veil-broker-rims-").FullName);

    private static KbsAttestation TdxAttestation(string nonce, TeeKey key, byte[] quote)
    {
        var evidence = JsonDocument.Parse(JsonSerializer.Serialize(new Dictionary<string, string> { ["quote"] = Convert.ToBase64String(quote) })).RootElement.Clone();
        return new KbsAttestation(new RuntimeData(nonce, key.PublicJson), new TeeEvidence(evidence, ""));
    }

    /// <summary>REPORT_DATA of a v4 TDX quote: the TD report body starts after the 48-byte header; REPORT_DATA is its last 64 bytes.</summary>
    private static byte[] QuoteReportData(byte[] quote) => quote.AsSpan(48 + 584 - 64, 64).ToArray();

    private static string DcapCollateralDirectory() => CollateralLayouts.DcapTdxCollateral(Directory.CreateTempSubdirectory("veil-broker-tdx-").FullName);

    private static JsonElement Payload(string token)
    {
        var s = token.Split('.')[1].Replace('-', '+').Replace('_', '/');
        s += new string('=', (4 - (s.Length % 4)) % 4);
        return JsonDocument.Parse(Convert.FromBase64String(s)).RootElement.Clone();
    }
}
