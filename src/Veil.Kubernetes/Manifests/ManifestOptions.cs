namespace Veil.Kubernetes.Manifests;

/// <summary>Inputs of <c>veil k8s manifests</c>.</summary>
public sealed record ManifestOptions
{
    public string Namespace { get; init; } = "veil";

    /// <summary>One image serves the webhook, the broker and the injected init container (its entrypoint runs <c>veil</c>).</summary>
    public string Image { get; init; } = new WebhookOptions().UnsealImage;

    /// <summary>Where injected agents reach the broker; defaults to the in-cluster Service.</summary>
    public Uri? BrokerUrl { get; init; }

    /// <summary>PEM of the CA that signed the webhook's serving certificate; null leaves caBundle for a CA injector.</summary>
    public string? CaBundlePem { get; init; }

    public string BrokerStorage { get; init; } = "1Gi";

    /// <summary>
    /// A Secret whose <c>url</c> key holds the broker's <c>postgresql://</c> store URL. Set, the broker runs as
    /// <see cref="BrokerReplicas"/> replicas on that database, its keys from the <see cref="BrokerKeysSecret"/>;
    /// unset, one replica with SQLite on a volume.
    /// </summary>
    public string? BrokerStoreSecret { get; init; }

    /// <summary>The Secret with the keys every replica shares (master.key, token-signing-key.pem, admin-public.pem from <c>veil broker init</c>).</summary>
    public string BrokerKeysSecret { get; init; } = "veil-broker-keys";

    /// <summary>Replicas with a PostgreSQL store (SQLite is always one).</summary>
    public int BrokerReplicas { get; init; } = 3;

    public bool BrokerReplicated => BrokerStoreSecret is not null;

    /// <summary>
    /// <c>name=value</c> parameters of the broker's strict attestation policy (snp_min_bootloader, ...). Without them
    /// the broker refuses to start, naming the missing one: there is no default TCB to trust.
    /// </summary>
    public IReadOnlyList<string> BrokerPolicyParameters { get; init; } = [];

    public Uri EffectiveBrokerUrl => BrokerUrl ?? new Uri($"https://veil-broker.{Namespace}.svc:8443/");
}
