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

    public static string RimDirectory(string root) => CollateralLayouts.HistoryH100Rims(Path.Combine(root, "nvidia-collateral"));

    public static string DcapCollateralDirectory(string root) => CollateralLayouts.DcapTdxCollateral(Path.Combine(root, "tdx-collateral"));
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
