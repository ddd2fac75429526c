namespace Veil.Kubernetes.Hosting;

/// <summary>How <c>veil admission serve</c> listens. Kubernetes calls webhooks over TLS only, so there is no HTTP.</summary>
public sealed record AdmissionServerOptions
{
    public IReadOnlyList<string> Urls { get; init; } = ["https://0.0.0.0:8443"];

    public required string TlsCertificatePath { get; init; }

    public required string TlsKeyPath { get; init; }

    public WebhookOptions Webhook { get; init; } = new();

    /// <summary>The API server sends at most a few MiB (object and oldObject); anything larger is refused unread.</summary>
    public long MaxBodyBytes { get; init; } = 6 * 1024 * 1024;
}
