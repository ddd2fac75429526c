using System.Text.Json.Nodes;

namespace Veil.Kubernetes.Admission;

/// <summary>
/// Injects the in-guest unseal step into a pod annotated with <c>veil.dev/sealed-model</c>: an init container runs
/// <c>veil unseal</c> (the key through the guest's confidential-data-hub, or by attesting to the broker itself; then
/// decrypt) into a memory-backed emptyDir, which lives in the
/// VM's encrypted memory, and every app container mounts it read-only. The key id is not passed: the sealed header
/// carries it. A pod that already has the init container gets no patch, so re-invocation changes nothing. A pod
/// annotated <c>veil.dev/gateway</c> also gets the attested-TLS sidecar (<see cref="GatewaySidecar"/>), in the same patch.
/// Readiness is the init container's successful exit (Kubernetes starts the app containers only after it), so the
/// volume holds exactly the sealed tree and no marker. The volume is mounted whole: a subPath would let the tree be
/// renamed into place, but on Kata a subPath of a memory emptyDir is not backed by the guest's tmpfs
/// (kata-containers#1728, #12218), which would put plaintext outside the VM's memory.
/// </summary>
public sealed class PodMutator(WebhookOptions options)
{
    public AdmissionDecision Mutate(AdmissionRequest request)
    {
        if (!request.IsJudgedPod || request.Operation != "CREATE" || !string.IsNullOrEmpty(request.SubResource) || request.Pod is null)
        {
            return AdmissionDecision.Allow();
        }

        var pod = request.Pod;
        var annotations = PodJson.Annotations(pod);
        var spec = PodJson.Spec(pod);
        var patch = new PatchBuilder();
        var warnings = new List<string>();
        var refusal = AddSealedModel(patch, spec, annotations, warnings)
            ?? GatewaySidecar.AddTo(patch, options, spec, annotations, warnings);
        if (refusal is not null)
        {
            return AdmissionDecision.Deny(refusal);
        }

        return patch.Operations.Count == 0 ? AdmissionDecision.Allow([.. warnings]) : AdmissionDecision.Mutate(patch.Operations, warnings);
    }

    /// <summary>The unseal step's operations, or a refusal; nothing for a pod without the annotation or already injected.</summary>
    private string? AddSealedModel(PatchBuilder patch, JsonObject spec, IReadOnlyDictionary<string, string> annotations, List<string> warnings)
    {
        if (!annotations.TryGetValue(VeilNames.SealedModelAnnotation, out var model))
        {
            return null;
        }

        var initContainers = PodJson.Objects(spec, "initContainers", "spec");
        if (initContainers.Any(c => PodJson.Text(c, "name", "spec.initContainers[]") == VeilNames.InitContainerName))
        {
            return null;
        }

        if (options.KeySource == UnsealKeySource.Broker && options.BrokerUrl is null)
        {
            return "veil: the webhook has key-source broker but no broker-url configured, so it cannot inject the unseal step; refusing the sealed-model pod";
        }

        if (!IsAbsolutePath(model))
        {
            return $"veil: metadata.annotations[{VeilNames.SealedModelAnnotation}]: expected an absolute path inside the pod, without '..'";
        }

        var volumes = PodJson.Objects(spec, "volumes", "spec");
        if (volumes.Any(v => PodJson.Text(v, "name", "spec.volumes[]") == VeilNames.ModelVolumeName))
        {
            return $"veil: spec.volumes: a volume named '{VeilNames.ModelVolumeName}' already exists; it is reserved for the unsealed model";
        }

        var containers = PodJson.Objects(spec, "containers", "spec");
        for (var i = 0; i < containers.Count; i++)
        {
            if (PodJson.Objects(containers[i], "volumeMounts", $"spec.containers[{i}]").Any(m => PodJson.Text(m, "mountPath", "volumeMounts[]")?.TrimEnd('/') == options.ModelMountPath))
            {
                return $"veil: spec.containers[{i}].volumeMounts: something is already mounted at {options.ModelMountPath}, where the unsealed model goes";
            }
        }

        var (sealedMount, refusal) = SealedMount(annotations, volumes, containers, model);
        if (refusal is not null)
        {
            return refusal;
        }

        if (sealedMount is null)
        {
            warnings.Add($"veil: {model} is not under any volume mounted by the pod's containers; {VeilNames.InitContainerName} reads it from its own image");
        }

        patch.Add(JsonPatch.Add(JsonPatch.Pointer("metadata", "annotations", VeilNames.InjectedAnnotation), "true"));
        patch.AddToArray(spec, "/spec", "volumes", ModelVolume());
        patch.AddToArray(spec, "/spec", "initContainers", InitContainer(model, sealedMount), first: true);
        for (var i = 0; i < containers.Count; i++)
        {
            var mount = new JsonObject { ["name"] = VeilNames.ModelVolumeName, ["mountPath"] = options.ModelMountPath, ["readOnly"] = true };
            patch.AddToArray(containers[i], JsonPatch.Pointer("spec", "containers", i.ToString(System.Globalization.CultureInfo.InvariantCulture)), "volumeMounts", mount);
        }

        return null;
    }

    internal static bool IsAbsolutePath(string p) => p.Length > 1 && p[0] == '/' && !p.Split('/').Contains("..", StringComparer.Ordinal) && !p.Any(char.IsControl);

    /// <summary>
    /// The app container's mount that holds the sealed file, copied read-only into the init container. With
    /// veil.dev/sealed-volume the volume is the one named; without it, the deepest mount whose path contains the file.
    /// </summary>
    private static (JsonObject? Mount, string? Refusal) SealedMount(IReadOnlyDictionary<string, string> annotations, IReadOnlyList<JsonObject> volumes, IReadOnlyList<JsonObject> containers, string model)
    {
        annotations.TryGetValue(VeilNames.SealedVolumeAnnotation, out var volume);
        if (volume is not null && !volumes.Any(v => PodJson.Text(v, "name", "spec.volumes[]") == volume))
        {
            return (null, $"veil: metadata.annotations[{VeilNames.SealedVolumeAnnotation}]: no volume '{AdmissionReviewReader.Printable(volume)}' in spec.volumes");
        }

        JsonObject? best = null;
        var bestLength = -1;
        foreach (var mount in containers.SelectMany((c, i) => PodJson.Objects(c, "volumeMounts", $"spec.containers[{i}]")))
        {
            var name = PodJson.Text(mount, "name", "volumeMounts[]");
            var path = PodJson.Text(mount, "mountPath", "volumeMounts[]")?.TrimEnd('/');
            if (path is null || (volume is not null && name != volume) || !(model.StartsWith(path + "/", StringComparison.Ordinal) || path.Length == 0))
            {
                continue;
            }

            if (path.Length > bestLength)
            {
                (best, bestLength) = (mount, path.Length);
            }
        }

        if (best is null)
        {
            return volume is null
                ? (null, null)
                : (null, $"veil: metadata.annotations[{VeilNames.SealedVolumeAnnotation}]: no container mounts volume '{AdmissionReviewReader.Printable(volume)}' at a directory containing {model}");
        }

        var copy = new JsonObject { ["name"] = best["name"]!.DeepClone(), ["mountPath"] = best["mountPath"]!.DeepClone(), ["readOnly"] = true };
        foreach (var extra in (string[])["subPath", "subPathExpr"])
        {
            if (best[extra] is { } v)
            {
                copy[extra] = v.DeepClone();
            }
        }

        return (copy, null);
    }

    private JsonObject ModelVolume()
    {
        var emptyDir = new JsonObject { ["medium"] = "Memory" };
        if (options.ModelSizeLimit is { } limit)
        {
            emptyDir["sizeLimit"] = limit;
        }

        return new JsonObject { ["name"] = VeilNames.ModelVolumeName, ["emptyDir"] = emptyDir };
    }

    private JsonObject InitContainer(string model, JsonObject? sealedMount)
    {
        var mounts = new JsonArray { new JsonObject { ["name"] = VeilNames.ModelVolumeName, ["mountPath"] = VeilNames.UnsealOutPath } };
        if (sealedMount is not null)
        {
            mounts.Add(sealedMount);
        }

        var command = options.KeySource == UnsealKeySource.Cdh
            ? new JsonArray("veil", "unseal", model, "--out", VeilNames.UnsealOutPath, "--cdh")
            : new JsonArray(
                "veil", "unseal", model, "--out", VeilNames.UnsealOutPath,
                "--broker", options.BrokerUrl!.ToString(), "--tee", "auto", "--gpu", "auto");
        return new JsonObject
        {
            ["name"] = VeilNames.InitContainerName,
            ["image"] = options.UnsealImage,
            ["command"] = command,
            ["volumeMounts"] = mounts,
            ["securityContext"] = new JsonObject { ["allowPrivilegeEscalation"] = false },
        };
    }
}
