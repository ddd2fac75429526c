using System.Text.Json.Nodes;
using Veil.Kubernetes.Admission;

namespace Veil.Kubernetes.Tests;

public sealed class ValidatorTests
{
    private readonly PodValidator _validator = new(new WebhookOptions());

    private AdmissionDecision Validate(JsonObject pod, string op = "CREATE") => _validator.Validate(Fixtures.Request(pod, op));

    [Theory]
    [InlineData("kata-qemu-nvidia-gpu-snp")]
    [InlineData("kata-qemu-nvidia-gpu-tdx")]
    [InlineData("kata-qemu-nvidia-gpu-snp-runtime-rs")]
    [InlineData("kata-qemu-nvidia-gpu-tdx-runtime-rs")]
    public void Gpu_pod_in_a_confidential_class_is_allowed(string rc)
    {
        Assert.True(Validate(Fixtures.GpuPod().WithRuntimeClass(rc)).Allowed);
        Assert.True(Validate(Fixtures.GpuPod().WithRuntimeClass(rc), "UPDATE").Allowed);
    }

    [Fact]
    public void Gpu_pod_without_runtime_class_is_denied_naming_field_value_and_allowed_list()
    {
        var d = Validate(Fixtures.GpuPod());
        Assert.False(d.Allowed);
        Assert.Contains("requests nvidia.com/pgpu in spec.containers[0]", d.Message, StringComparison.Ordinal);
        Assert.Contains("spec.runtimeClassName: unset", d.Message, StringComparison.Ordinal);
        Assert.Contains("kata-qemu-nvidia-gpu-snp, kata-qemu-nvidia-gpu-tdx, kata-qemu-nvidia-gpu-snp-runtime-rs, kata-qemu-nvidia-gpu-tdx-runtime-rs", d.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("kata-qemu-nvidia-gpu")]
    [InlineData("kata-qemu-nvidia-gpu-runtime-rs")]
    public void The_cc_off_class_is_refused_as_such(string rc)
    {
        var d = Validate(Fixtures.GpuPod().WithRuntimeClass(rc));
        Assert.False(d.Allowed);
        Assert.Contains($"spec.runtimeClassName: '{rc}' is the CC-off class", d.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("runc")]
    [InlineData("kata-qemu-snp")]
    [InlineData("kata-qemu-nvidia-gpu-snp-debug")]
    public void Other_classes_are_refused_with_their_name(string rc)
    {
        var d = Validate(Fixtures.GpuPod().WithRuntimeClass(rc));
        Assert.False(d.Allowed);
        Assert.Contains($"spec.runtimeClassName: '{rc}' is not a confidential runtime class", d.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("nvidia.com/gpu")]
    [InlineData("nvidia.com/pgpu")]
    [InlineData("nvidia.com/GH100_H100_SXM5_80GB")]
    [InlineData("nvidia.com/GH100_H100_NVSWITCH")]
    [InlineData("nvidia.com/GB200_B200")]
    public void Every_gpu_resource_name_and_model_prefix_triggers_the_rule(string resource)
    {
        foreach (var where in (string[])["limits", "requests"])
        {
            var pod = Fixtures.GpuPod();
            var container = pod["spec"]!["containers"]![0]!;
            container["resources"] = new JsonObject { [where] = new JsonObject { [resource] = "1" } };
            var d = Validate(pod);
            Assert.False(d.Allowed);
            Assert.Contains($"requests {resource}", d.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("amd.com/gpu")]
    [InlineData("nvidia.com/mig-1g.10gb.shared")]
    [InlineData("example.com/GH100")]
    public void Other_resources_do_not_trigger(string resource)
    {
        var pod = Fixtures.GpuPod();
        pod["spec"]!["containers"]![0]!["resources"] = new JsonObject { ["limits"] = new JsonObject { [resource] = "1" } };
        Assert.True(Validate(pod).Allowed);
    }

    [Fact]
    public void A_gpu_in_an_init_container_or_a_sealed_model_annotation_triggers_too()
    {
        var pod = Fixtures.PlainPod();
        pod["spec"]!.AsObject().Remove("volumes");
        pod["spec"]!.AsObject().Remove("hostNetwork");
        pod["spec"]!["initContainers"] = new JsonArray(new JsonObject { ["name"] = "warm", ["image"] = "x", ["resources"] = new JsonObject { ["limits"] = new JsonObject { ["nvidia.com/gpu"] = "1" } } });
        var d = Validate(pod);
        Assert.False(d.Allowed);
        Assert.Contains("spec.initContainers[0]", d.Message, StringComparison.Ordinal);

        var annotated = Fixtures.PlainPod();
        annotated["spec"]!.AsObject().Remove("volumes");
        annotated["spec"]!.AsObject().Remove("hostNetwork");
        annotated["metadata"]!["annotations"] = new JsonObject { ["veil.dev/sealed-model"] = "/models/llama.veil" };
        d = Validate(annotated);
        Assert.False(d.Allowed);
        Assert.Contains("carries veil.dev/sealed-model", d.Message, StringComparison.Ordinal);
        Assert.True(Validate(annotated.WithRuntimeClass("kata-qemu-nvidia-gpu-tdx")).Allowed);
    }

    [Fact]
    public void A_pod_without_gpu_or_sealed_model_is_not_judged()
    {
        // hostPath and hostNetwork are someone else's business outside confidential pods.
        Assert.True(Validate(Fixtures.PlainPod()).Allowed);
    }

    [Fact]
    public void All_violations_are_reported_together_with_their_paths()
    {
        var pod = Fixtures.GpuPod().WithRuntimeClass("kata-qemu-nvidia-gpu");
        var spec = pod["spec"]!;
        spec["hostNetwork"] = true;
        spec["hostPID"] = true;
        spec["hostIPC"] = false;
        spec["volumes"]!.AsArray().Add(new JsonObject { ["name"] = "cfg", ["configMap"] = new JsonObject { ["name"] = "c" } });
        spec["volumes"]!.AsArray().Add(new JsonObject { ["name"] = "hf-cache", ["hostPath"] = new JsonObject { ["path"] = "/var/lib/hf" } });
        spec["containers"]![0]!["securityContext"] = new JsonObject { ["privileged"] = false };
        spec["containers"]!.AsArray().Add(new JsonObject { ["name"] = "sidecar", ["image"] = "x", ["securityContext"] = new JsonObject { ["privileged"] = true } });
        spec["initContainers"] = new JsonArray(new JsonObject { ["name"] = "init", ["image"] = "x", ["securityContext"] = new JsonObject { ["privileged"] = true } });
        pod.Annotate("veil.dev/key-id", "only/two");

        var d = Validate(pod);
        Assert.False(d.Allowed);
        string[] expected =
        [
            "spec.runtimeClassName: 'kata-qemu-nvidia-gpu' is the CC-off class",
            "spec.hostNetwork: must not be true",
            "spec.hostPID: must not be true",
            "spec.volumes[2].hostPath: hostPath volumes are shared into the VM in plaintext via virtio-fs",
            "spec.initContainers[0].securityContext.privileged",
            "spec.containers[1].securityContext.privileged",
            "metadata.annotations[veil.dev/key-id]",
        ];
        foreach (var e in expected)
        {
            Assert.Contains(e, d.Message, StringComparison.Ordinal);
        }

        Assert.Contains("7 violation(s)", d.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hostIPC", d.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("spec.containers[0].securityContext", d.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Fixtures.SecretEnv, d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_privileged_ephemeral_container_added_by_kubectl_debug_is_refused()
    {
        var pod = Fixtures.GpuPod().WithRuntimeClass("kata-qemu-nvidia-gpu-snp");
        pod["spec"]!["ephemeralContainers"] = new JsonArray(new JsonObject { ["name"] = "debugger", ["image"] = "busybox", ["securityContext"] = new JsonObject { ["privileged"] = true } });
        var request = AdmissionReviewReader.Read(Fixtures.Bytes(Fixtures.Review(pod, "UPDATE", subResource: "ephemeralcontainers")));
        var d = _validator.Validate(request);
        Assert.False(d.Allowed);
        Assert.Contains("spec.ephemeralContainers[0].securityContext.privileged", d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Configured_classes_and_resource_names_replace_the_defaults()
    {
        var options = WebhookConfigFile.Parse("""
            allowed-runtime-classes: [my-snp-class]
            gpu-resource-names: [example.com/accelerator]
            gpu-resource-prefixes: []
            """, "test.yaml");
        var v = new PodValidator(options);
        Assert.True(v.Validate(Fixtures.Request(Fixtures.GpuPod())).Allowed); // nvidia.com/pgpu is no longer a GPU here
        var pod = Fixtures.GpuPod().WithRuntimeClass("kata-qemu-nvidia-gpu-snp");
        pod["spec"]!["containers"]![0]!["resources"] = new JsonObject { ["limits"] = new JsonObject { ["example.com/accelerator"] = "1" } };
        var d = v.Validate(Fixtures.Request(pod));
        Assert.False(d.Allowed);
        Assert.Contains("(allowed: my-snp-class)", d.Message, StringComparison.Ordinal);
        Assert.True(v.Validate(Fixtures.Request(pod.WithRuntimeClass("my-snp-class"))).Allowed);
    }

    [Theory]
    [InlineData("allowed-runtime-classes: []", "allowed-runtime-classes")]
    [InlineData("allowed-runtime-class: [x]", "unknown setting 'allowed-runtime-class'")]
    [InlineData("broker-url: http://broker.example:8080", "broker-url")]
    [InlineData("key-source: kbs", "'kbs' is not a key source")]
    [InlineData("key-source: broker", "key-source broker needs broker-url")]
    [InlineData("gpu-resource-prefixes: [GH100]", "gpu-resource-prefixes")]
    [InlineData("model-mount-path: relative/path", "model-mount-path")]
    [InlineData("cc-off-runtime-classes: [kata-qemu-nvidia-gpu-snp]", "both an allowed and a CC-off")]
    [InlineData("- just\n- a list", "mapping")]
    [InlineData("key: [unclosed", "not valid YAML")]
    public void Bad_settings_are_typed_errors(string text, string expected)
    {
        var e = Assert.Throws<WebhookConfigurationException>(() => WebhookConfigFile.Parse(text, "w.yaml"));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_settings_are_read_too()
    {
        var o = WebhookConfigFile.Parse("""{"broker-url": "https://kbs.example:8443/", "model-mount-path": "/weights/", "model-size-limit": "80Gi"}""", "w.json");
        Assert.Equal(new Uri("https://kbs.example:8443/"), o.BrokerUrl);
        Assert.Equal("/weights", o.ModelMountPath);
        Assert.Equal("80Gi", o.ModelSizeLimit);
        Assert.Equal(4, o.AllowedRuntimeClasses.Count);
        Assert.Equal(UnsealKeySource.Cdh, o.KeySource);
        Assert.Equal(UnsealKeySource.Broker, WebhookConfigFile.Parse("key-source: broker\nbroker-url: https://kbs.example/", "w.yaml").KeySource);
    }

    [Fact]
    public void A_pod_with_dynamic_resource_claims_counts_as_a_gpu_pod_unless_turned_off()
    {
        static JsonObject DraPod(string? rc)
        {
            var pod = Fixtures.PlainPod();
            pod["spec"]!.AsObject().Remove("hostNetwork");
            pod["spec"]!.AsObject().Remove("volumes");
            pod["spec"]!["resourceClaims"] = JsonNode.Parse("""[{"name":"gpu","resourceClaimTemplateName":"single-gpu"}]""");
            pod["spec"]!["containers"]![0]!["resources"] = JsonNode.Parse("""{"claims":[{"name":"gpu"}]}""");
            return rc is null ? pod : pod.WithRuntimeClass(rc);
        }

        var v = new PodValidator(new WebhookOptions());
        var denied = v.Validate(Fixtures.Request(DraPod(null)));
        Assert.False(denied.Allowed);
        Assert.Contains("uses dynamic resource claims (spec.resourceClaims)", denied.Message, StringComparison.Ordinal);
        Assert.Contains("spec.runtimeClassName: unset", denied.Message, StringComparison.Ordinal);
        Assert.True(v.Validate(Fixtures.Request(DraPod("kata-qemu-nvidia-gpu-tdx"))).Allowed);

        var off = WebhookConfigFile.Parse("resource-claims-trigger: false", "w.yaml");
        Assert.True(new PodValidator(off).Validate(Fixtures.Request(DraPod(null))).Allowed);
        Assert.Contains("expected true or false", Assert.Throws<WebhookConfigurationException>(() => WebhookConfigFile.Parse("resource-claims-trigger: maybe", "w.yaml")).Message, StringComparison.Ordinal);
    }
}
