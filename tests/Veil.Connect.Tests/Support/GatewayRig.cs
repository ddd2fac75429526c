using System.Net;
using Veil.Connect.Proxy;
using Veil.Gateway.Hosting;
using Veil.Guest;
using Veil.Guest.Tests;
using Veil.Policy;

namespace Veil.Connect.Tests;

/// <summary>
/// The loopback deployment: counting upstream ← veil gateway (sample TEE through the configfs-tsm fake kernel with
/// the sample provider) ← veil connect. Nothing is faked but the kernel's configfs files.
/// </summary>
internal sealed class GatewayRig : IAsyncDisposable
{
    private readonly string root;
    private readonly List<IAsyncDisposable> proxies = [];

    private GatewayRig(string root, CountingUpstream upstream, FakeTsmKernel kernel, GatewayHost gateway)
    {
        this.root = root;
        Upstream = upstream;
        Kernel = kernel;
        Gateway = gateway;
    }

    public CountingUpstream Upstream { get; }

    public FakeTsmKernel Kernel { get; }

    public GatewayHost Gateway { get; }

    public static async Task<GatewayRig> StartAsync(TimeProvider? evidenceClock = null)
    {
        var upstream = await CountingUpstream.StartAsync();
        var root = Path.Combine(Path.GetTempPath(), "veil-connect-tsm-" + Guid.NewGuid().ToString("N"));
        var kernel = new FakeTsmKernel(Path.Combine(root, "report"));
        var evidence = new GatewayEvidence(new ConfigFsTsmAttester(kernel.Root, entryName: () => FakeTsmKernel.Entry), gpus: null, time: evidenceClock);
        var gateway = await GatewayHost.StartAsync(new GatewayOptions
        {
            Upstream = upstream.Address,
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            Evidence = evidence,
            // The fake kernel serves one report entry at a time.
            MaxConcurrentAttestations = 1,
        }, CancellationToken.None);
        return new GatewayRig(root, upstream, kernel, gateway);
    }

    public static AttestedTlsOptions Options(string policy = "sample", bool allowSample = true, TimeSpan? maxAge = null, Action<AttestationOutcome>? observer = null) => new()
    {
        Policy = DefaultPolicies.Load(policy),
        AllowSample = allowSample,
        MaxAge = maxAge ?? TimeSpan.FromSeconds(60),
        Observer = observer,
    };

    public async Task<ConnectProxy> ConnectAsync(AttestedTlsOptions options, Uri? gateway = null)
    {
        var proxy = await ConnectProxy.StartAsync(new ConnectOptions
        {
            Gateway = gateway ?? Gateway.Address,
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            Attestation = options,
        }, CancellationToken.None);
        proxies.Add(proxy);
        return proxy;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in proxies)
        {
            await p.DisposeAsync();
        }

        await Gateway.DisposeAsync();
        Kernel.Dispose();
        await Upstream.DisposeAsync();
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
