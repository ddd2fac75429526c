using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Veil.Broker;
using Veil.Broker.Hosting;
using Veil.Broker.Keys;
using Veil.Broker.Verification;
using Veil.Protocol.Messages;
using Veil.Tests.Shared;

namespace Veil.Guest.Tests;

/// <summary>A clock pinned inside a recorded vector's validity window.</summary>
internal sealed class PinnedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}

/// <summary>
/// The broker's side of driving recorded vectors: a recorded report's data or a recorded GPU nonce replaces what
/// this session's binding would expect; whatever is not replaced keeps the real KBS 0.4.0 binding.
/// </summary>
internal sealed class RecordedBrokerBinding(byte[]? cpuReportData = null, byte[]? deviceNonce = null) : IReportDataBindingService
{
    private readonly KbsReportDataBinding real = new();

    public ReadOnlyMemory<byte> ExpectedReportData(string tee, RuntimeData runtimeData, string additionalEvidence) =>
        cpuReportData ?? real.ExpectedReportData(tee, runtimeData, additionalEvidence);

    public ReadOnlyMemory<byte> ExpectedDeviceNonce(string tee, RuntimeData runtimeData) =>
        deviceNonce ?? real.ExpectedDeviceNonce(tee, runtimeData);
}

/// <summary>The agent's side of the same: asks its attesters for the recorded values instead of this session's binding.</summary>
internal sealed class RecordedAgentBinding(byte[]? cpuReportData = null, byte[]? gpuNonce = null) : IEvidenceBinding
{
    public byte[] CpuReportData(string nonce, JsonElement teePubKey, string additionalEvidence) =>
        cpuReportData ?? KbsEvidenceBinding.Instance.CpuReportData(nonce, teePubKey, additionalEvidence);

    public byte[] GpuNonce(string nonce, JsonElement teePubKey) => gpuNonce ?? KbsEvidenceBinding.Instance.GpuNonce(nonce, teePubKey);
}

/// <summary>Starts the real broker on loopback with a replaced binding and a pinned clock (tests only: the CLI cannot do this).</summary>
internal static class AgentBroker
{
    public static async Task<(BrokerHost Host, string AdminToken)> StartAsync(string dataDir, BrokerOptions options, IReportDataBindingService binding, TimeProvider clock)
    {
        BrokerInit.Run(dataDir, TimeSpan.FromDays(1), TimeProvider.System);
        var host = await BrokerHost.StartAsync(options with { DataDir = dataDir, Urls = ["http://127.0.0.1:0"] }, builder =>
        {
            builder.Logging.ClearProviders();
            builder.Services.AddSingleton(clock);
            builder.Services.AddSingleton(binding);
        }, _ => null, CancellationToken.None);
        return (host, File.ReadAllText(Path.Combine(dataDir, BrokerKeys.AdminTokenFile)).Trim());
    }

    public static async Task PutResourceAsync(Uri broker, string adminToken, string path, byte[] value)
    {
        using var admin = new HttpClient { BaseAddress = broker };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        using var content = new ByteArrayContent(value);
        using var r = await admin.PostAsync(new Uri("kbs/v0/resource/" + path, UriKind.Relative), content);
        r.EnsureSuccessStatusCode();
    }

    /// <summary>The two test_no_gpu RIMs (driver 545.00, VBIOS 96.00.5E.00.01) under the ids the broker's verifier asks for.</summary>
    public static string RimDirectory(string root)
    {
        var dir = Path.Combine(root, "nvidia-collateral");
        Directory.CreateDirectory(Path.Combine(dir, "rims"));
        File.Copy(Vectors.Path("nvtrust", "local_gpu_verifier-samples", "Driver_RIM_test_no_gpu.swidtag"), Path.Combine(dir, "rims", "NV_GPU_DRIVER_GH100_545.00.xml"));
        File.Copy(Vectors.Path("nvtrust", "local_gpu_verifier-samples", "1010_0200_882_96005E0001_test_no_gpu.swidtag"), Path.Combine(dir, "rims", "NV_GPU_VBIOS_1010_0200_882_96005E0001.xml"));
        return dir;
    }

    /// <summary>dcap-qvl's single-file collateral laid out as the PCS bodies the broker reads (inner JSON kept byte for byte).</summary>
    public static string DcapCollateralDirectory(string root)
    {
        using var c = JsonDocument.Parse(Vectors.Bytes("dcap-qvl", "sample", "tdx_quote_collateral.json"));
        string S(string name) => c.RootElement.GetProperty(name).GetString()!;
        var dir = Path.Combine(root, "tdx-collateral");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "tcb_info.json"), "{\"tcbInfo\":" + S("tcb_info") + ",\"signature\":\"" + S("tcb_info_signature") + "\"}");
        File.WriteAllText(Path.Combine(dir, "qe_identity.json"), "{\"enclaveIdentity\":" + S("qe_identity") + ",\"signature\":\"" + S("qe_identity_signature") + "\"}");
        File.WriteAllText(Path.Combine(dir, "pck_crl.der"), S("pck_crl"));
        File.WriteAllText(Path.Combine(dir, "root_ca_crl.der"), S("root_ca_crl"));
        File.WriteAllText(Path.Combine(dir, "tcb_info_issuer_chain.pem"), S("tcb_info_issuer_chain"));
        File.WriteAllText(Path.Combine(dir, "qe_identity_issuer_chain.pem"), S("qe_identity_issuer_chain"));
        File.WriteAllText(Path.Combine(dir, "pck_crl_issuer_chain.pem"), S("pck_crl_issuer_chain"));
        return dir;
    }
}

/// <summary>Records each request body on its way to the broker (the handshake itself is untouched).</summary>
internal sealed class RecordingHandler : DelegatingHandler
{
    public RecordingHandler()
        : base(new HttpClientHandler { CookieContainer = new System.Net.CookieContainer(), UseCookies = true })
    {
    }

    public List<(string Path, byte[] Body)> Requests { get; } = [];

    /// <summary>Runs as each request leaves, e.g. to observe device state at that moment.</summary>
    public Action<string>? OnRequest { get; init; }

    public KbsAttestation LastAttestation() => KbsAttestation.Parse(Requests.Last(r => r.Path.EndsWith("/attest", StringComparison.Ordinal)).Body);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var path = request.RequestUri!.AbsolutePath;
        Requests.Add((path, request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken)));
        OnRequest?.Invoke(path);
        return await base.SendAsync(request, cancellationToken);
    }
}
