using System.Net;
using System.Security.Authentication;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Veil.Attestation;
using Veil.Attestation.Dstack;
using Veil.Connect.Connection;
using Veil.Connect.Verification;
using Veil.Gateway.Tls;
using Veil.Policy;
using Veil.Tests.Shared;

namespace Veil.Connect.Tests;

/// <summary>
/// <c>veil connect --form dstack</c> on upstream's real TDX capture (testdata/dstack): the report built around that
/// quote (its report data's halves as signing address and nonce) is accepted, and a replayed nonce, another signing
/// address, an edited event log or GPU evidence over another nonce are refused with the reason.
/// </summary>
public sealed class DstackFormTests
{
    private static readonly DateTimeOffset At = DateTimeOffset.Parse("2026-06-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private const string MrTd = "fd685522ce791dfef67414614eb07d03fc07a32c5a66f36288b329dab92b724b1564c73d436ffb9ea84488c51ac5a1c5";

    private static byte[] Fixture() => File.ReadAllBytes(Path.Combine(Vectors.RepoRoot, "testdata", "dstack", "tdx-lite-getquote.json"));

    private static DstackQuoteResponse Answer() => DstackQuoteResponse.Parse(Fixture());

    private static byte[] Nonce() => Answer().ReportData![32..];

    private static JsonObject Report()
    {
        var answer = Answer();
        return new JsonObject
        {
            ["signing_address"] = "0x" + Convert.ToHexStringLower(answer.ReportData.AsSpan(0, 32)),
            ["signing_algo"] = "ed25519",
            ["request_nonce"] = Convert.ToHexStringLower(answer.ReportData.AsSpan(32, 32)),
            ["intel_quote"] = Convert.ToHexStringLower(answer.Quote),
            ["event_log"] = JsonNode.Parse(JsonNode.Parse(Fixture())!["event_log"]!.GetValue<string>()),
        };
    }

    private static AttestedTlsOptions Options(string mrTd = MrTd) => new()
    {
        Policy = LoadPolicy(TdxPolicy.Replace("MRTD", mrTd, StringComparison.Ordinal)),
        Form = EndpointForm.Dstack,
        Time = new FixedTimeProvider(At),
    };

    private static Task<AttestationOutcome> Verify(JsonObject report, byte[]? nonce = null, AttestedTlsOptions? options = null) =>
        new DstackEvidenceVerifier(options ?? Options()).VerifyAsync("dstack.example:443", Encoding.UTF8.GetBytes(report.ToJsonString()), nonce ?? Nonce(), new byte[32], CancellationToken.None);

    [Fact]
    public async Task The_upstream_quote_with_its_event_log_is_accepted_and_says_the_tls_key_is_not_bound()
    {
        var outcome = await Verify(Report());
        Assert.True(outcome.Accepted, string.Join("; ", outcome.Reasons));
        Assert.Equal("tdx", outcome.Tee);
        Assert.Equal(MrTd, outcome.Facts["measurement"]);
        Assert.Equal("86b0e55f2fa8e4fb69d890f14f54d5612707646e", outcome.Facts["app_id"]);
        Assert.Equal("86b0e55f2fa8e4fb69d890f14f54d5612707646e2573d54e0d2ddaaade77caa9", outcome.Facts["compose_hash"]);
        Assert.Contains("the TLS key is not attested", outcome.Facts["binding"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_report_for_another_nonce_is_refused()
    {
        var outcome = await Verify(Report(), nonce: new byte[32]);
        Assert.False(outcome.Accepted);
        Assert.StartsWith("request_nonce: the report answers ", Assert.Single(outcome.Reasons), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Another_signing_address_does_not_match_the_quotes_report_data()
    {
        var report = Report();
        report["signing_address"] = "0x" + new string('a', 40);
        var outcome = await Verify(report);
        Assert.False(outcome.Accepted);
        Assert.Contains(outcome.Reasons, r => r.Contains("quote.report_data", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_edited_event_log_is_refused_naming_the_rtmr()
    {
        var report = Report();
        report["event_log"]![24]!["event_payload"] = "00";
        var outcome = await Verify(report);
        Assert.False(outcome.Accepted);
        Assert.Contains(outcome.Reasons, r => r.Contains("event_log.rtmr3", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_policy_for_another_measurement_is_a_denial_with_the_explanation()
    {
        var outcome = await Verify(Report(), options: Options(new string('0', 96)));
        Assert.False(outcome.Accepted);
        Assert.Contains(outcome.Reasons, r => r.Contains("tdx-mrtd", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"nonce":"00","evidence_list":[],"arch":"HOPPER"}""", "nvidia_payload.nonce: 00 is not the nonce sent")]
    [InlineData("""not json""", "nvidia_payload: not valid JSON")]
    public async Task Gpu_evidence_over_another_nonce_or_malformed_is_refused(string payload, string reason)
    {
        var report = Report();
        report["nvidia_payload"] = payload;
        var outcome = await Verify(report);
        Assert.False(outcome.Accepted);
        Assert.Equal(reason, Assert.Single(outcome.Reasons));
    }

    [Theory]
    [InlineData("4760e30534a0621357d458b1a7936551b5dc4cd1e69718adf7ed9fb0252a537e", false)]
    [InlineData("1111111111111111111111111111111111111111111111111111111111111111", true)]
    public async Task Gpu_evidence_goes_through_the_nvidia_verifier_against_the_request_nonce(string nonceHex, bool gpuNonceRefused)
    {
        // Real H100 evidence (nvtrust's PPCIe sample, 8 GPUs, SPDM request nonce 4760e305…) in dstack's nvidia_payload.
        // The TDX quote binds another nonce in either case, so the CPU fails; what is shown is the GPU half.
        var nonce = Convert.FromHexString(nonceHex);
        var report = Report();
        report["request_nonce"] = nonceHex;
        report["nvidia_payload"] = new JsonObject
        {
            ["nonce"] = nonceHex,
            ["evidence_list"] = JsonNode.Parse(Vectors.Text("nvtrust", "ppcie-tests-data", "gpu_evidence.json")),
            ["arch"] = "HOPPER",
        }.ToJsonString();
        var options = Options() with { Policy = LoadPolicy(TdxPolicy.Replace("MRTD", MrTd, StringComparison.Ordinal) + GpuRules) };
        var outcome = await Verify(report, nonce, options);

        Assert.False(outcome.Accepted);
        Assert.Equal("8", outcome.Facts["gpus"]);
        Assert.Contains(outcome.Reasons, r => r.StartsWith("cpu0:", StringComparison.Ordinal) && r.Contains("quote.report_data", StringComparison.Ordinal));
        Assert.Equal(gpuNonceRefused, outcome.Reasons.Any(r => r.StartsWith("gpu0:", StringComparison.Ordinal) && r.Contains("nonce", StringComparison.OrdinalIgnoreCase)));
    }

    [Fact]
    public async Task Malformed_reports_are_refused_with_the_field()
    {
        var report = Report();
        report.Remove("intel_quote");
        Assert.Equal("dstack report: report.intel_quote: missing", Assert.Single((await Verify(report)).Reasons));
        Assert.StartsWith("dstack report: report: not valid JSON", Assert.Single((await new DstackEvidenceVerifier(Options()).VerifyAsync("x:1", "{"u8.ToArray(), Nonce(), new byte[32], CancellationToken.None)).Reasons), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Over_tls_the_connector_asks_the_dstack_path_with_a_fresh_hex_nonce_and_refuses_a_relayed_report()
    {
        // A dstack-shaped endpoint that answers every nonce with the upstream report (relayed evidence, as a man in the
        // middle would): the fresh nonce is not the one the quote binds, so the connection is refused before any request.
        string? asked = null;
        await using var server = await DstackEndpoint.StartAsync(query =>
        {
            asked = query;
            var report = Report();
            report["request_nonce"] = query;
            return Encoding.UTF8.GetBytes(report.ToJsonString());
        });

        var connector = new AttestedConnector(Options() with { Time = TimeProvider.System });
        var refused = await Assert.ThrowsAsync<AttestationRefusedException>(() => connector.AttestAsync("127.0.0.1", server.Port, CancellationToken.None));
        Assert.Matches("^[0-9a-f]{64}$", asked);
        Assert.Contains(refused.Outcome.Reasons, r => r.Contains("quote.report_data", StringComparison.Ordinal));
        Assert.Equal(1, server.Requests);
    }

    private static Veil.Policy.Model.AttestationPolicy LoadPolicy(string yaml)
    {
        var path = Path.Combine(Path.GetTempPath(), "veil-policy-" + Guid.NewGuid().ToString("N") + ".yaml");
        File.WriteAllText(path, yaml);
        try
        {
            return DefaultPolicies.Load(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private const string TdxPolicy = """
        apiVersion: veil.dev/v1
        kind: AttestationPolicy
        metadata:
          name: dstack-fixture
          description: The TD of dstack's upstream fixture, by MRTD (dstack-form tests).
        submodules:
          cpu:
            accept: [tdx]
            minCount: 1
            rules:
              - name: tdx-mrtd
                claim: tdx.mr_td
                equals: "MRTD"
                trust: hardware
        """;

    private const string GpuRules = """

          gpu:
            accept: [nvidia]
            minCount: 1
            rules:
              - name: gpu-cc-on
                claim: nvidia.cc_mode
                equals: true
                trust: configuration
        """;

    /// <summary>A TLS endpoint serving <c>/v1/attestation/report</c> as its callback says.</summary>
    private sealed class DstackEndpoint : IAsyncDisposable
    {
        private readonly WebApplication app;
        private readonly GatewayCertificate certificate;

        private DstackEndpoint(WebApplication app, GatewayCertificate certificate, int port)
        {
            this.app = app;
            this.certificate = certificate;
            Port = port;
        }

        public int Port { get; }

        public int Requests;

        public static async Task<DstackEndpoint> StartAsync(Func<string, byte[]> answer)
        {
            var certificate = GatewayCertificate.Create(TimeProvider.System);
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(h =>
            {
                h.ServerCertificate = certificate.Certificate;
                h.SslProtocols = SslProtocols.Tls13;
            })));
            var app = builder.Build();
            DstackEndpoint? self = null;
            app.MapGet("/v1/attestation/report", (HttpContext http) =>
            {
                Interlocked.Increment(ref self!.Requests);
                return Results.Bytes(answer(http.Request.Query["nonce"].ToString()), "application/json");
            });
            await app.StartAsync();
            var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
            self = new DstackEndpoint(app, certificate, address.Port);
            return self;
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
            certificate.Dispose();
        }
    }
}
