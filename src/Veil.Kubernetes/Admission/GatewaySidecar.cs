using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Veil.Kubernetes.Admission;

/// <summary>
/// Injects <c>veil gateway</c> as a container beside the inference server of a pod annotated
/// <c>veil.dev/gateway: "true"</c>: it terminates TLS with a key made in the VM and forwards to the server on the pod's
/// loopback, so prompts reach the pod only over a connection whose evidence <c>veil connect</c> checked
/// (docs/attested-tls.md). The annotation values are checked here, where a typo can still be named, rather than
/// left to fail as a crash loop inside the VM.
/// </summary>
internal static class GatewaySidecar
{
    /// <summary>vLLM's and most OpenAI-compatible servers' default port.</summary>
    public const int DefaultUpstreamPort = 8000;

    public const int DefaultListenPort = 8443;

    /// <summary>
    /// TEE modes a pod may ask for. <c>sample</c> is not among them: it proves nothing, and a pod in an enforced
    /// namespace that asked for it would look attested to whoever reads only its manifest.
    /// </summary>
    private static readonly string[] TeeModes = ["auto", "configfs-tsm", "sev-guest"];

    private static readonly string[] GpuModes = ["auto", "off", "required"];

    /// <summary>
    /// Patch operations (appended to <paramref name="patch"/>), a refusal, or neither when the pod does not ask for a
    /// gateway or already has one (idempotent: a re-invoked webhook changes nothing).
    /// </summary>
    public static string? AddTo(PatchBuilder patch, WebhookOptions options, JsonObject spec, IReadOnlyDictionary<string, string> annotations, List<string> warnings)
    {
        if (!annotations.TryGetValue(VeilNames.GatewayAnnotation, out var wanted))
        {
            return null;
        }

        switch (wanted)
        {
            case "false":
                return null;
            case not "true":
                return $"veil: metadata.annotations[{VeilNames.GatewayAnnotation}]: expected \"true\" or \"false\", got '{AdmissionReviewReader.Printable(wanted)}'";
        }

        var containers = PodJson.Objects(spec, "containers", "spec");
        if (containers.Any(c => PodJson.Text(c, "name", "spec.containers[]") == VeilNames.GatewayContainerName))
        {
            return null;
        }

        var (listen, e1) = Port(annotations, VeilNames.GatewayPortAnnotation, DefaultListenPort);
        var (upstream, e2) = Port(annotations, VeilNames.GatewayUpstreamPortAnnotation, DefaultUpstreamPort);
        var (tee, e3) = Choice(annotations, VeilNames.GatewayTeeAnnotation, TeeModes, "configfs-tsm");
        var (gpu, e4) = Choice(annotations, VeilNames.GatewayGpuAnnotation, GpuModes, "auto");
        if ((e1 ?? e2 ?? e3 ?? e4) is { } bad)
        {
            return bad;
        }

        if (listen == upstream)
        {
            return $"veil: metadata.annotations[{VeilNames.GatewayPortAnnotation}]: {listen} is also the upstream port; the gateway cannot listen where the inference server does";
        }

        var declared = DeclaredPorts(spec);
        if (declared.TryGetValue(listen, out var owner))
        {
            return $"veil: metadata.annotations[{VeilNames.GatewayPortAnnotation}]: port {listen} is already {owner}; containers of a pod share one network namespace";
        }

        if (!declared.ContainsKey(upstream))
        {
            warnings.Add($"veil: no container declares port {upstream} ({VeilNames.GatewayUpstreamPortAnnotation}); veil-gateway forwards to 127.0.0.1:{upstream} anyway");
        }

        if (PodJson.Objects(spec, "volumes", "spec").Any(v => PodJson.Text(v, "name", "spec.volumes[]") == VeilNames.GatewayTmpVolumeName))
        {
            return $"veil: spec.volumes: a volume named '{VeilNames.GatewayTmpVolumeName}' already exists; it is reserved for the gateway's scratch space";
        }

        patch.Add(JsonPatch.Add(JsonPatch.Pointer("metadata", "annotations", VeilNames.GatewayInjectedAnnotation), "true"));
        patch.AddToArray(spec, "/spec", "volumes", new JsonObject
        {
            ["name"] = VeilNames.GatewayTmpVolumeName,
            ["emptyDir"] = new JsonObject { ["medium"] = "Memory", ["sizeLimit"] = "16Mi" },
        });
        patch.AddToArray(spec, "/spec", "containers", Container(options, listen, upstream, tee, gpu));
        return null;
    }

    private static JsonObject Container(WebhookOptions options, int listen, int upstream, string tee, string gpu)
    {
        var command = new JsonArray(
            "veil", "gateway",
            "--upstream", $"http://127.0.0.1:{upstream.ToString(CultureInfo.InvariantCulture)}",
            "--listen", $"0.0.0.0:{listen.ToString(CultureInfo.InvariantCulture)}",
            "--tee", tee, "--tsm-root", options.GatewayTsmRoot, "--gpu", gpu);
        return new JsonObject
        {
            ["name"] = VeilNames.GatewayContainerName,
            ["image"] = options.UnsealImage,
            ["command"] = command,
            ["ports"] = new JsonArray(new JsonObject { ["name"] = "veil-https", ["containerPort"] = listen, ["protocol"] = "TCP" }),
            // Only /tmp is writable (memory-backed, in the VM's encrypted memory); the report folder of configfs-tsm
            // is the guest's own configfs, which the Kata agent mounts into containers when it exposes configfs
            // (docs/kubernetes.md): a hostPath would be the host's configfs, shared in plaintext, and is refused.
            ["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = VeilNames.GatewayTmpVolumeName, ["mountPath"] = "/tmp" }),
            ["securityContext"] = new JsonObject
            {
                ["runAsNonRoot"] = true,
                ["runAsUser"] = 65532,
                ["runAsGroup"] = 65532,
                ["allowPrivilegeEscalation"] = false,
                ["readOnlyRootFilesystem"] = true,
                ["capabilities"] = new JsonObject { ["drop"] = new JsonArray("ALL") },
            },
        };
    }

    private static (int Port, string? Refusal) Port(IReadOnlyDictionary<string, string> annotations, string key, int fallback)
    {
        if (!annotations.TryGetValue(key, out var text))
        {
            return (fallback, null);
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535
            ? (port, null)
            : (0, $"veil: metadata.annotations[{key}]: expected a port number from 1 to 65535, got '{AdmissionReviewReader.Printable(text)}'");
    }

    private static (string Value, string? Refusal) Choice(IReadOnlyDictionary<string, string> annotations, string key, string[] allowed, string fallback)
    {
        if (!annotations.TryGetValue(key, out var text))
        {
            return (fallback, null);
        }

        return allowed.Contains(text, StringComparer.Ordinal)
            ? (text, null)
            : ("", $"veil: metadata.annotations[{key}]: '{AdmissionReviewReader.Printable(text)}' is not one of {string.Join(", ", allowed)}");
    }

    /// <summary>Every containerPort of every container list, with the field that declares it.</summary>
    private static Dictionary<int, string> DeclaredPorts(JsonObject spec)
    {
        var ports = new Dictionary<int, string>();
        foreach (var list in PodJson.ContainerLists)
        {
            var containers = PodJson.Objects(spec, list, "spec");
            for (var i = 0; i < containers.Count; i++)
            {
                var entries = PodJson.Objects(containers[i], "ports", $"spec.{list}[{i}]");
                for (var j = 0; j < entries.Count; j++)
                {
                    var path = $"spec.{list}[{i}].ports[{j}].containerPort";
                    if (entries[j]["containerPort"] is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<int>(out var p))
                    {
                        ports.TryAdd(p, path);
                    }
                    else if (entries[j]["containerPort"] is not null)
                    {
                        throw new AdmissionReviewException(path, "expected an integer");
                    }
                }
            }
        }

        return ports;
    }
}
