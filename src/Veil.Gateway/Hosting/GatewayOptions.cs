using System.Net;
using Veil.Guest;

namespace Veil.Gateway.Hosting;

/// <summary>How <c>veil gateway</c> runs (docs/attested-tls.md).</summary>
public sealed record GatewayOptions
{
    /// <summary>The inference server; it must listen on loopback only, the gateway being its one way in.</summary>
    public required Uri Upstream { get; init; }

    /// <summary>Where the gateway terminates TLS (port 0 picks a free one).</summary>
    public IPEndPoint Listen { get; init; } = new(IPAddress.Any, 8443);

    /// <summary>Evidence source (CPU attester and GPUs).</summary>
    public required GatewayEvidence Evidence { get; init; }

    /// <summary>Evidence collections running at once; more wait in a short queue, beyond it 503.</summary>
    public int MaxConcurrentAttestations { get; init; } = 4;

    public TimeProvider Time { get; init; } = TimeProvider.System;
}
