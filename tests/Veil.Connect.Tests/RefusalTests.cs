using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Veil.Attestation;
using Veil.Guest;
using Veil.Policy;
using Veil.Protocol.AttestedTls;
using Veil.Tests.Shared;

namespace Veil.Connect.Tests;

/// <summary>
/// Every refusal of docs/attested-tls.md "Verification", end to end: the local client gets 502 with the reason, and the
/// counting upstream receives zero bytes.
/// </summary>
public sealed class RefusalTests : IAsyncLifetime
{
    private static readonly byte[] OldNonce = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private GatewayRig rig = null!;
    private readonly List<IAsyncDisposable> owned = [];

    public async Task InitializeAsync() => rig = await GatewayRig.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var o in owned)
        {
            await o.DisposeAsync();
        }

        await rig.DisposeAsync();
    }

    private async Task<ForgingGateway> ForgeAsync(Func<string, byte[], HttpClient, Task<byte[]>> answer)
    {
        var f = await ForgingGateway.StartAsync(rig.Gateway.Address, answer);
        owned.Add(f);
        return f;
    }

    /// <summary>Sends a chat request through a veil connect in front of <paramref name="gateway"/>; returns status and explanations.</summary>
    private async Task<(HttpStatusCode Status, string[] Reasons)> ChatAsync(AttestedTlsOptions options, Uri? gateway = null)
    {
        var proxy = await rig.ConnectAsync(options, gateway);
        using var http = new HttpClient { BaseAddress = proxy.Address };
        using var r = await http.PostAsync("v1/chat/completions", EndToEndTests.Chat(stream: false));
        var body = await r.Content.ReadAsStringAsync();
        if (r.StatusCode == HttpStatusCode.OK)
        {
            return (r.StatusCode, []);
        }

        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(body);
        return (r.StatusCode, doc.RootElement.GetProperty("veil.explanations").EnumerateArray().Select(e => e.GetString()!).ToArray());
    }

    private void AssertNothingReachedUpstream()
    {
        Assert.Equal(0, rig.Upstream.BytesReceived);
        Assert.Equal(0, rig.Upstream.Requests);
    }

    [Fact]
    public async Task Man_in_the_middle_with_its_own_certificate_relaying_the_real_evidence_is_refused()
    {
        var mitm = await ForgeAsync(async (nonce, _, real) => await real.GetByteArrayAsync(new Uri(".well-known/veil/attestation?nonce=" + nonce, UriKind.Relative)));

        var (status, reasons) = await ChatAsync(GatewayRig.Options(), mitm.Address);

        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.Contains(reasons, r => r.StartsWith("tls_spki_sha256:", StringComparison.Ordinal) && r.Contains(rig.Gateway.SpkiSha256Hex, StringComparison.Ordinal));
        Assert.Equal(1, mitm.EvidenceRequests);
        Assert.Single(rig.Kernel.InBlobs); // the real gateway did attest, for the attacker's relay
        AssertNothingReachedUpstream();
    }

    [Fact]
    public async Task Replayed_evidence_for_an_earlier_nonce_is_refused()
    {
        var replay = await ForgeAsync((_, key, _) => Task.FromResult(new GatewayEvidence(null, null).Collect(OldNonce, key).ToJson()));

        var (status, reasons) = await ChatAsync(GatewayRig.Options(), replay.Address);

        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.Contains(reasons, r => r.StartsWith("nonce:", StringComparison.Ordinal));
        AssertNothingReachedUpstream();
    }

    [Fact]
    public async Task Replayed_evidence_with_the_nonce_field_rewritten_fails_the_report_data_binding()
    {
        var replay = await ForgeAsync((nonce, key, _) =>
        {
            var doc = JsonNode.Parse(new GatewayEvidence(null, null).Collect(OldNonce, key).ToJson())!.AsObject();
            doc["nonce"] = nonce;
            return Task.FromResult(System.Text.Encoding.UTF8.GetBytes(doc.ToJsonString()));
        });

        var (status, reasons) = await ChatAsync(GatewayRig.Options(), replay.Address);

        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.Contains(reasons, r => r.StartsWith("cpu0:", StringComparison.Ordinal) && r.Contains("report_data", StringComparison.Ordinal));
        AssertNothingReachedUpstream();
    }

    [Fact]
    public async Task Stale_evidence_document_is_refused()
    {
        // A real gateway through the configfs-tsm fake, whose clock (bound into the report data) is an hour behind.
        await rig.DisposeAsync();
        rig = await GatewayRig.StartAsync(new FixedTimeProvider(DateTimeOffset.UtcNow.AddHours(-1)));

        var (status, reasons) = await ChatAsync(GatewayRig.Options(maxAge: TimeSpan.FromMinutes(5)));

        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.Contains(reasons, r => r.StartsWith("issued_at:", StringComparison.Ordinal) && r.Contains("stale", StringComparison.Ordinal));
        AssertNothingReachedUpstream();
    }

    [Fact]
    public async Task Gpu_report_bound_to_another_nonce_is_refused()
    {
        // Real H100 evidence (nvtrust's PPCIe sample): its SPDM request nonce is the sample's, not this session's.
        var gpu = Vectors.Text("nvtrust", "ppcie-tests-data", "gpu_evidence.json");
        var forged = await ForgeAsync((nonceText, key, _) =>
        {
            var nonce = AttestedTlsBinding.ParseNonce(nonceText);
            var issued = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var rd = AttestedTlsBinding.CpuReportData(nonce, key, AttestedTlsBinding.GpuEvidenceDigest(gpu), issued);
            using var cpu = JsonDocument.Parse($"{{\"svn\":\"1\",\"report_data\":\"{Convert.ToBase64String(rd)}\"}}");
            return Task.FromResult(new AttestationDocument("sample", nonce, issued, key, cpu.RootElement.Clone(), gpu).ToJson());
        });
        var options = GatewayRig.Options() with { Policy = LoadPolicy(SampleWithGpuPolicy) };
        var (status, reasons) = await ChatAsync(options, forged.Address);

        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.Contains(reasons, r => r.StartsWith("gpu0:", StringComparison.Ordinal) && r.Contains("nonce", StringComparison.OrdinalIgnoreCase));
        AssertNothingReachedUpstream();
    }

    [Fact]
    public async Task Policy_denial_is_refused_with_the_explanation()
    {
        // The fake kernel's sample evidence says svn 1; this policy wants 2 or more.
        var options = GatewayRig.Options() with { Policy = LoadPolicy(SampleSvnPolicy.Replace("^[1-9][0-9]*$", "^([2-9]|[1-9][0-9]+)$", StringComparison.Ordinal)) };

        var (status, reasons) = await ChatAsync(options);

        Assert.Equal(HttpStatusCode.BadGateway, status);
        var reason = Assert.Single(reasons);
        Assert.StartsWith("cpu0: sample-svn-supported: sample.svn: expected", reason, StringComparison.Ordinal);
        Assert.Contains("actual 1", reason, StringComparison.Ordinal);
        Assert.Single(rig.Kernel.InBlobs);
        AssertNothingReachedUpstream();
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

    [Fact]
    public async Task Sample_tee_is_refused_unless_allowed()
    {
        var (status, reasons) = await ChatAsync(GatewayRig.Options(allowSample: false));

        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.Contains(reasons, r => r.StartsWith("tee: the sample TEE proves nothing", StringComparison.Ordinal));
        AssertNothingReachedUpstream();
    }

    [Fact]
    public async Task Gateway_whose_key_changed_after_attestation_gets_nothing_more()
    {
        // connect → TCP relay → the real gateway; after one attested exchange the relay is switched to an endpoint with
        // another key (relaying the real evidence) and the connection is cut, so the next request needs a new connection.
        var gatewayEndpoint = new IPEndPoint(IPAddress.Loopback, rig.Gateway.Address.Port);
        using var path = new TcpRelay(gatewayEndpoint);
        var other = await ForgeAsync(async (nonce, _, real) => await real.GetByteArrayAsync(new Uri(".well-known/veil/attestation?nonce=" + nonce, UriKind.Relative)));
        var proxy = await rig.ConnectAsync(GatewayRig.Options(), new Uri($"https://127.0.0.1:{path.Port}"));
        using var http = new HttpClient { BaseAddress = proxy.Address };

        using (var ok = await http.PostAsync("v1/chat/completions", EndToEndTests.Chat(stream: false)))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        var before = rig.Upstream.BytesReceived;
        Assert.True(before > 0);
        path.Target = new IPEndPoint(IPAddress.Loopback, other.Address.Port);
        path.DropAll();

        using var refused = await http.PostAsync("v1/chat/completions", EndToEndTests.Chat(stream: false));
        var body = await refused.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadGateway, refused.StatusCode);
        Assert.Contains("tls_spki_sha256", body, StringComparison.Ordinal);
        Assert.Equal(before, rig.Upstream.BytesReceived);
        Assert.Equal(1, rig.Upstream.Requests);
    }

    private const string SampleSvnPolicy = """
        apiVersion: veil.dev/v1
        kind: AttestationPolicy
        metadata:
          name: sample-svn
          description: The sample CPU TEE at a given security version (attested-TLS tests).
        submodules:
          cpu:
            accept: [sample]
            minCount: 1
            rules:
              - name: sample-svn-supported
                claim: sample.svn
                matches: "^[1-9][0-9]*$"
                trust: hardware
        """;

    private const string SampleWithGpuPolicy = """
        apiVersion: veil.dev/v1
        kind: AttestationPolicy
        metadata:
          name: sample-with-gpu
          description: The sample CPU TEE plus at least one verified NVIDIA GPU (attested-TLS tests).
        submodules:
          cpu:
            accept: [sample]
            minCount: 1
            rules:
              - name: sample-svn-supported
                claim: sample.svn
                matches: "^[1-9][0-9]*$"
                trust: hardware
          gpu:
            accept: [nvidia]
            minCount: 1
            rules:
              - name: gpu-cc-on
                claim: nvidia.cc_mode
                equals: true
                trust: configuration
        """;
}
