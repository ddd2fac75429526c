using System.Text.Json.Nodes;
using Veil.Kubernetes.InitData;

namespace Veil.Kubernetes.Admission;

/// <summary>
/// The validating rules. A pod is confidential when it asks for a GPU or carries a sealed model; such a pod must run
/// in a confidential Kata class (so does one asking for the attested-TLS gateway) and must not open a plaintext path around the VM's memory encryption. Every
/// violation is reported in one message so that a user fixes the manifest once.
/// </summary>
public sealed class PodValidator(WebhookOptions options)
{
    public AdmissionDecision Validate(AdmissionRequest request)
    {
        if (!request.IsJudgedPod || request.Pod is null)
        {
            return AdmissionDecision.Allow();
        }

        var pod = request.Pod;
        var spec = PodJson.Spec(pod);
        var annotations = PodJson.Annotations(pod);
        var trigger = Trigger(spec, annotations);
        if (trigger is null)
        {
            return AdmissionDecision.Allow();
        }

        var violations = Violations(spec, annotations);
        var warnings = InitDataCheck(annotations, violations);
        return violations.Count == 0
            ? AdmissionDecision.Allow([.. warnings])
            : AdmissionDecision.Deny($"veil: confidential pod ({trigger}) refused, {violations.Count} violation(s): " +
                string.Join("; ", violations.Select((v, i) => $"{i + 1}) {v}")));
    }

    /// <summary>Why the pod counts as confidential (first reason found), or null.</summary>
    internal string? Trigger(JsonObject spec, IReadOnlyDictionary<string, string> annotations)
    {
        foreach (var list in PodJson.ContainerLists)
        {
            var containers = PodJson.Objects(spec, list, "spec");
            for (var i = 0; i < containers.Count; i++)
            {
                if (GpuResource(containers[i], $"spec.{list}[{i}]") is { } r)
                {
                    return $"requests {r} in spec.{list}[{i}]";
                }
            }
        }

        if (GpuResource(spec, "spec") is { } podLevel)
        {
            return $"requests {podLevel} in spec.resources";
        }

        if (options.ResourceClaimsTrigger && PodJson.Objects(spec, "resourceClaims", "spec").Count > 0)
        {
            return "uses dynamic resource claims (spec.resourceClaims), which may allocate GPUs";
        }

        if (annotations.ContainsKey(VeilNames.SealedModelAnnotation))
        {
            return $"carries {VeilNames.SealedModelAnnotation}";
        }

        // A gateway outside a confidential VM would have no evidence to serve, or worse, a host's: hold it to the same rules.
        return annotations.TryGetValue(VeilNames.GatewayAnnotation, out var g) && g != "false" ? $"carries {VeilNames.GatewayAnnotation}" : null;
    }

    private string? GpuResource(JsonObject holder, string path)
    {
        var resources = PodJson.Object(holder, "resources", path);
        if (resources is null)
        {
            return null;
        }

        foreach (var kind in (string[])["limits", "requests"])
        {
            var map = PodJson.Object(resources, kind, $"{path}.resources");
            if (map?.Select(kv => kv.Key).FirstOrDefault(options.IsGpuResource) is { } name)
            {
                return name;
            }
        }

        return null;
    }

    private List<string> Violations(JsonObject spec, IReadOnlyDictionary<string, string> annotations)
    {
        var found = new List<string>();
        var allowed = string.Join(", ", options.AllowedRuntimeClasses);
        var rc = PodJson.Text(spec, "runtimeClassName", "spec");
        if (rc is null || rc.Length == 0)
        {
            found.Add($"spec.runtimeClassName: unset; a confidential runtime class is required (allowed: {allowed})");
        }
        else if (options.CcOffRuntimeClasses.Contains(rc, StringComparer.Ordinal))
        {
            found.Add($"spec.runtimeClassName: '{rc}' is the CC-off class (GPU passthrough without confidential computing: memory and PCIe traffic are plaintext to the host); allowed: {allowed}");
        }
        else if (!options.AllowedRuntimeClasses.Contains(rc, StringComparer.Ordinal))
        {
            found.Add($"spec.runtimeClassName: '{AdmissionReviewReader.Printable(rc)}' is not a confidential runtime class (allowed: {allowed})");
        }

        foreach (var field in (string[])["hostNetwork", "hostPID", "hostIPC"])
        {
            if (PodJson.IsTrue(spec, field, "spec"))
            {
                found.Add($"spec.{field}: must not be true (it shares a host namespace with a workload that must not trust the host)");
            }
        }

        var volumes = PodJson.Objects(spec, "volumes", "spec");
        for (var i = 0; i < volumes.Count; i++)
        {
            if (volumes[i]["hostPath"] is not null)
            {
                found.Add($"spec.volumes[{i}].hostPath: hostPath volumes are shared into the VM in plaintext via virtio-fs");
            }
        }

        foreach (var list in PodJson.ContainerLists)
        {
            var containers = PodJson.Objects(spec, list, "spec");
            for (var i = 0; i < containers.Count; i++)
            {
                var path = $"spec.{list}[{i}].securityContext";
                if (PodJson.Object(containers[i], "securityContext", $"spec.{list}[{i}]") is { } sc && PodJson.IsTrue(sc, "privileged", path))
                {
                    found.Add($"{path}.privileged: privileged containers may not run in a confidential pod (they reach the guest's devices and kernel)");
                }
            }
        }

        if (annotations.TryGetValue(VeilNames.KeyIdAnnotation, out var keyId) && !IsResourcePath(keyId))
        {
            found.Add($"metadata.annotations[{VeilNames.KeyIdAnnotation}]: expected a broker resource path repo/type/tag");
        }

        if (annotations.TryGetValue(VeilNames.SealedModelAnnotation, out var model) && !PodMutator.IsAbsolutePath(model))
        {
            found.Add($"metadata.annotations[{VeilNames.SealedModelAnnotation}]: expected an absolute path inside the pod, without '..'");
        }

        return found;
    }

    /// <summary>
    /// With the key through CDH, the guest's attestation agent finds the broker in the pod's init-data. A value Kata
    /// cannot decode is refused here rather than at sandbox start; no annotation is only a warning, since a node may
    /// supply init-data itself (Kata's initdata_path).
    /// </summary>
    private List<string> InitDataCheck(IReadOnlyDictionary<string, string> annotations, List<string> violations)
    {
        var warnings = new List<string>();
        if (options.KeySource != UnsealKeySource.Cdh || !annotations.ContainsKey(VeilNames.SealedModelAnnotation))
        {
            return warnings;
        }

        if (!annotations.TryGetValue(KataInitData.Annotation, out var initData))
        {
            warnings.Add($"veil: no {KataInitData.Annotation} annotation: unless the node supplies init-data, the guest's attestation agent does not know the broker and veil-unseal cannot get the key (write one with 'veil k8s initdata')");
            return warnings;
        }

        try
        {
            KataInitData.Decode(initData);
        }
        catch (InvalidDataException e)
        {
            violations.Add($"metadata.annotations[{KataInitData.Annotation}]: {e.Message} (expected base64 of the gzip'd init-data TOML)");
        }

        return warnings;
    }

    private static bool IsResourcePath(string s)
    {
        var parts = s.Split('/');
        return parts.Length == 3 && parts.All(p => p.Length > 0 && p is not "." and not ".." && p.All(c => c is > ' ' and < (char)127));
    }
}
