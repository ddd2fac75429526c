namespace Veil.Kubernetes;

/// <summary>What the admission webhook enforces and what it injects. Defaults fail closed.</summary>
public sealed record WebhookOptions
{
    /// <summary>Kata runtime classes that start a confidential VM (SEV-SNP or TDX) with GPU passthrough.</summary>
    public IReadOnlyList<string> AllowedRuntimeClasses { get; init; } =
    [
        "kata-qemu-nvidia-gpu-snp", "kata-qemu-nvidia-gpu-tdx",
        "kata-qemu-nvidia-gpu-snp-runtime-rs", "kata-qemu-nvidia-gpu-tdx-runtime-rs",
    ];

    /// <summary>Classes known to run GPUs with confidential computing off; refused with a message saying so.</summary>
    public IReadOnlyList<string> CcOffRuntimeClasses { get; init; } = ["kata-qemu-nvidia-gpu", "kata-qemu-nvidia-gpu-runtime-rs"];

    /// <summary>Extended resources that are a GPU or a GPU fabric device, matched exactly.</summary>
    public IReadOnlyList<string> GpuResourceNames { get; init; } = ["nvidia.com/gpu", "nvidia.com/pgpu", "nvidia.com/nvswitch"];

    /// <summary>
    /// Prefixes of model-named resources. With an empty alias the sandbox device plugin names devices after
    /// pci.ids (e.g. nvidia.com/GH100_H100_SXM5_80GB): GH = Hopper, GB = Blackwell, the CC-capable families.
    /// </summary>
    public IReadOnlyList<string> GpuResourcePrefixes { get; init; } = ["nvidia.com/GH", "nvidia.com/GB"];

    /// <summary>
    /// A pod with dynamic resource claims (<c>spec.resourceClaims</c>, Kubernetes DRA) counts as a GPU pod: the claim's
    /// device class lives in another object the webhook cannot see, and NVIDIA's DRA driver hands out GPUs this way,
    /// so fail closed. Turn off only where DRA never allocates GPUs.
    /// </summary>
    public bool ResourceClaimsTrigger { get; init; } = true;

    /// <summary>Image of the injected containers: the <c>veil-unseal</c> init container and the <c>veil-gateway</c> sidecar.</summary>
    public string UnsealImage { get; init; } = VeilImage.Default;

    /// <summary>How the injected agent gets the model key; see <see cref="UnsealKeySource"/>.</summary>
    public UnsealKeySource KeySource { get; init; } = UnsealKeySource.Cdh;

    /// <summary>Broker the injected agent attests to itself; required with <see cref="UnsealKeySource.Broker"/>.</summary>
    public Uri? BrokerUrl { get; init; }

    /// <summary>Where app containers see the plaintext model (read-only).</summary>
    public string ModelMountPath { get; init; } = "/run/veil/model";

    /// <summary>Optional sizeLimit of the memory-backed emptyDir (a Kubernetes quantity such as 80Gi).</summary>
    public string? ModelSizeLimit { get; init; }

    /// <summary>The guest's configfs-tsm report folder as the injected <c>veil-gateway</c> sees it (its <c>--tsm-root</c>).</summary>
    public string GatewayTsmRoot { get; init; } = "/sys/kernel/config/tsm/report";

    public bool IsGpuResource(string name) =>
        GpuResourceNames.Contains(name, StringComparer.Ordinal) || GpuResourcePrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal));
}

/// <summary>Where the injected <c>veil unseal</c> gets the key-encryption key.</summary>
public enum UnsealKeySource
{
    /// <summary>
    /// Through the CoCo guest's confidential-data-hub (<c>veil unseal --cdh</c>): the guest's own attestation agent
    /// attests to the broker named in the pod's init-data. The default, because a container in a Kata CoCo pod sees
    /// neither configfs-tsm nor /dev/sev-guest, so only the guest components can collect evidence.
    /// </summary>
    Cdh,

    /// <summary>
    /// <c>veil unseal --broker</c> collects the evidence itself: needs a guest image that exposes configfs-tsm (or
    /// /dev/sev-guest) and the GPUs to the init container.
    /// </summary>
    Broker,
}

/// <summary>Annotation and object names the webhook reads and writes.</summary>
public static class VeilNames
{
    public const string SealedModelAnnotation = "veil.dev/sealed-model";
    public const string SealedVolumeAnnotation = "veil.dev/sealed-volume";
    public const string KeyIdAnnotation = "veil.dev/key-id";
    public const string InjectedAnnotation = "veil.dev/unseal-injected";
    public const string InitContainerName = "veil-unseal";
    public const string ModelVolumeName = "veil-model";
    public const string GatewayAnnotation = "veil.dev/gateway";
    public const string GatewayPortAnnotation = "veil.dev/gateway-port";
    public const string GatewayUpstreamPortAnnotation = "veil.dev/gateway-upstream-port";
    public const string GatewayTeeAnnotation = "veil.dev/gateway-tee";
    public const string GatewayGpuAnnotation = "veil.dev/gateway-gpu";
    public const string GatewayInjectedAnnotation = "veil.dev/gateway-injected";
    public const string GatewayContainerName = "veil-gateway";
    public const string GatewayTmpVolumeName = "veil-gateway-tmp";
    public const string EnforcedNamespaceLabel = "veil.dev/confidential";
    public const string EnforcedNamespaceValue = "enforced";

    /// <summary>Where the init container writes the plaintext (the emptyDir's mount inside the init container).</summary>
    public const string UnsealOutPath = "/run/veil/model";
}
