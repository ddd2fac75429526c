namespace Veil.Broker;

/// <summary>How a broker runs. Built by <c>veil broker serve</c> from flags and an optional config file.</summary>
public sealed record BrokerOptions
{
    public string DataDir { get; init; } = "./veil-data";

    public IReadOnlyList<string> Urls { get; init; } = ["http://127.0.0.1:8080"];

    /// <summary>Accept the sample TEE (no hardware evidence). Testing only.</summary>
    public bool AllowSample { get; init; }

    /// <summary>Allow plain HTTP on non-loopback addresses.</summary>
    public bool InsecureHttp { get; init; }

    public string? TlsCertificatePath { get; init; }

    public string? TlsKeyPath { get; init; }

    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromMinutes(5);

    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromMinutes(5);
}
