using System.Net;

namespace Veil.Connect.Proxy;

/// <summary>How <c>veil connect</c> runs.</summary>
public sealed record ConnectOptions
{
    /// <summary>https://host:port of the gateway.</summary>
    public required Uri Gateway { get; init; }

    /// <summary>Loopback only: requests arrive here in plain HTTP.</summary>
    public IPEndPoint Listen { get; init; } = new(IPAddress.Loopback, 8080);

    public required AttestedTlsOptions Attestation { get; init; }
}
