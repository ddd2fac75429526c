using System.Text.Json.Nodes;
using Veil.Kubernetes.Admission;

namespace Veil.Kubernetes.Tests;

public sealed class GatewaySidecarTests
{
    private static readonly WebhookOptions Options = new() { UnsealImage = "registry.example/veil:1.0" };
    private readonly AdmissionHandler _handler = new(Options);

    private static JsonObject GatewayPod() => Fixtures.GpuPod()
        .WithRuntimeClass("kata-qemu-nvidia-gpu-tdx")
        .Annotate("veil.dev/gateway", "true");

    private (JsonObject Pod, AdmissionDecision Decision) Mutate(JsonObject pod) => Fixtures.Mutate(_handler, pod);

    [Fact]
    public void An_annotated_pod_gets_the_sidecar_with_defaults_and_a_second_mutation_yields_none()
    {
        var (patched, decision) = Mutate(GatewayPod());
        Assert.True(decision.Allowed);

        var expected = GatewayPod();
        expected["metadata"]!["annotations"]!["veil.dev/gateway-injected"] = "true";
        expected["spec"]!["volumes"]!.AsArray().Add(JsonNode.Parse("""{"name":"veil-gateway-tmp","emptyDir":{"medium":"Memory","sizeLimit":"16Mi"}}"""));
        expected["spec"]!["containers"]!.AsArray().Add(JsonNode.Parse("""
            {"name":"veil-gateway","image":"registry.example/veil:1.0",
             "command":["veil","gateway","--upstream","http://127.0.0.1:8000","--listen","0.0.0.0:8443","--tee","configfs-tsm","--tsm-root","/sys/kernel/config/tsm/report","--gpu","auto"],
             "ports":[{"name":"veil-https","containerPort":8443,"protocol":"TCP"}],
             "volumeMounts":[{"name":"veil-gateway-tmp","mountPath":"/tmp"}],
             "securityContext":{"runAsNonRoot":true,"runAsUser":65532,"runAsGroup":65532,"allowPrivilegeEscalation":false,
                                "readOnlyRootFilesystem":true,"capabilities":{"drop":["ALL"]}}}
            """));
        Assert.True(JsonNode.DeepEquals(expected, patched), patched.ToJsonString());
        // The server declares no port 8000: allowed, with a warning naming it.
        Assert.Contains(decision.Warnings, w => w.Contains("no container declares port 8000", StringComparison.Ordinal));

        var (again, second) = Mutate(patched);
        Assert.True(second.Allowed);
        Assert.Null(second.Patch);
        Assert.Same(patched, again);

        // The patched pod passes the validating webhook (which runs after the mutating one).
        Assert.True(new PodValidator(Options).Validate(Fixtures.Request(patched)).Allowed);
    }

    [Fact]
    public void Ports_tee_and_gpu_come_from_the_annotations()
    {
        var pod = GatewayPod()
            .Annotate("veil.dev/gateway-port", "9443")
            .Annotate("veil.dev/gateway-upstream-port", "8080")
            .Annotate("veil.dev/gateway-tee", "auto")
            .Annotate("veil.dev/gateway-gpu", "required");
        pod["spec"]!["containers"]![0]!["ports"] = JsonNode.Parse("""[{"containerPort":8080}]""");
        var (patched, d) = Mutate(pod);
        Assert.True(d.Allowed);
        Assert.Empty(d.Warnings);
        var sidecar = patched["spec"]!["containers"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == "veil-gateway")!;
        var command = sidecar["command"]!.AsArray().Select(a => a!.GetValue<string>()).ToList();
        Assert.Equal("http://127.0.0.1:8080", command[command.IndexOf("--upstream") + 1]);
        Assert.Equal("0.0.0.0:9443", command[command.IndexOf("--listen") + 1]);
        Assert.Equal("auto", command[command.IndexOf("--tee") + 1]);
        Assert.Equal("required", command[command.IndexOf("--gpu") + 1]);
        Assert.Equal(9443, sidecar["ports"]![0]!["containerPort"]!.GetValue<int>());
    }

    [Fact]
    public void Pods_without_the_annotation_or_with_false_get_no_patch()
    {
        Assert.Null(Mutate(Fixtures.GpuPod().WithRuntimeClass("kata-qemu-nvidia-gpu-tdx")).Decision.Patch);
        Assert.Null(Mutate(Fixtures.GpuPod().Annotate("veil.dev/gateway", "false")).Decision.Patch);
        var (_, update, _) = _handler.Handle(Fixtures.Bytes(Fixtures.Review(GatewayPod(), "UPDATE")), mutate: true);
        Assert.Null(update.Patch);
    }

    [Theory]
    [InlineData("veil.dev/gateway", "yes", "expected \"true\" or \"false\", got 'yes'")]
    [InlineData("veil.dev/gateway-port", "https", "veil.dev/gateway-port]: expected a port number from 1 to 65535, got 'https'")]
    [InlineData("veil.dev/gateway-port", "0", "expected a port number from 1 to 65535, got '0'")]
    [InlineData("veil.dev/gateway-port", "65536", "expected a port number from 1 to 65535, got '65536'")]
    [InlineData("veil.dev/gateway-port", "-1", "got '-1'")]
    [InlineData("veil.dev/gateway-port", " 8443", "got ' 8443'")]
    [InlineData("veil.dev/gateway-upstream-port", "99999999999", "veil.dev/gateway-upstream-port]: expected a port number")]
    [InlineData("veil.dev/gateway-upstream-port", "8443", "8443 is also the upstream port")]
    [InlineData("veil.dev/gateway-tee", "sample", "'sample' is not one of auto, configfs-tsm, sev-guest")]
    [InlineData("veil.dev/gateway-gpu", "maybe", "'maybe' is not one of auto, off, required")]
    public void Bad_annotation_values_are_refused_with_the_field_and_reason(string key, string value, string reason)
    {
        var (_, d) = Mutate(GatewayPod().Annotate(key, value));
        Assert.False(d.Allowed);
        Assert.Null(d.Patch);
        Assert.Contains(reason, d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_listen_port_already_declared_by_a_container_is_refused_naming_it()
    {
        var pod = GatewayPod();
        pod["spec"]!["containers"]![0]!["ports"] = JsonNode.Parse("""[{"containerPort":8000},{"containerPort":8443,"name":"metrics"}]""");
        var (_, d) = Mutate(pod);
        Assert.False(d.Allowed);
        Assert.Contains("port 8443 is already spec.containers[0].ports[1].containerPort", d.Message, StringComparison.Ordinal);

        var init = GatewayPod().Annotate("veil.dev/gateway-port", "9000");
        init["spec"]!["initContainers"] = JsonNode.Parse("""[{"name":"proxy","image":"x","restartPolicy":"Always","ports":[{"containerPort":9000}]}]""");
        Assert.Contains("spec.initContainers[0].ports[0].containerPort", Mutate(init).Decision.Message, StringComparison.Ordinal);

        var reserved = GatewayPod();
        reserved["spec"]!["volumes"]!.AsArray().Add(JsonNode.Parse("""{"name":"veil-gateway-tmp","emptyDir":{}}"""));
        Assert.Contains("'veil-gateway-tmp' already exists", Mutate(reserved).Decision.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_non_integer_container_port_is_a_malformed_review()
    {
        var pod = GatewayPod();
        pod["spec"]!["containers"]![0]!["ports"] = JsonNode.Parse("""[{"containerPort":"8443"}]""");
        var e = Assert.Throws<AdmissionReviewException>(() => _handler.Handle(Fixtures.Bytes(Fixtures.Review(pod)), mutate: true));
        Assert.Contains("spec.containers[0].ports[0].containerPort", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void With_a_sealed_model_both_injections_share_one_patch_and_arrays_added_whole_are_appended_to()
    {
        var pod = GatewayPod().Annotate("veil.dev/sealed-model", "/models/llama.veil").Annotate("veil.dev/sealed-volume", "weights");
        pod["spec"]!.AsObject().Remove("volumes");
        pod["spec"]!["containers"]![0]!.AsObject().Remove("volumeMounts");
        pod["metadata"]!["annotations"]!.AsObject().Remove("veil.dev/sealed-volume");
        var (patched, d) = Mutate(pod);
        Assert.True(d.Allowed);
        Assert.Equal(["veil-model", "veil-gateway-tmp"], patched["spec"]!["volumes"]!.AsArray().Select(v => v!["name"]!.GetValue<string>()));
        Assert.Equal(["server", "veil-gateway"], patched["spec"]!["containers"]!.AsArray().Select(v => v!["name"]!.GetValue<string>()));
        Assert.Equal("veil-unseal", patched["spec"]!["initContainers"]![0]!["name"]!.GetValue<string>());
        Assert.Null(Mutate(patched).Decision.Patch);
    }

    [Fact]
    public void The_tsm_root_is_a_setting_and_must_be_absolute()
    {
        var o = WebhookConfigFile.Parse("gateway-tsm-root: /run/guest/tsm/report/", "w.yaml");
        Assert.Equal("/run/guest/tsm/report", o.GatewayTsmRoot);
        var patched = JsonPatchApplier.Apply(GatewayPod(), new PodMutator(o).Mutate(Fixtures.Request(GatewayPod())).Patch!);
        var command = patched["spec"]!["containers"]![1]!["command"]!.AsArray().Select(a => a!.GetValue<string>()).ToList();
        Assert.Equal("/run/guest/tsm/report", command[command.IndexOf("--tsm-root") + 1]);
        Assert.Throws<WebhookConfigurationException>(() => WebhookConfigFile.Parse("gateway-tsm-root: tsm/report", "w.yaml"));
    }

    [Fact]
    public void The_gateway_annotation_makes_the_pod_confidential_for_the_validator()
    {
        var pod = Fixtures.PlainPod();
        pod["metadata"]!["annotations"] = new JsonObject { ["veil.dev/gateway"] = "true" };
        var d = new PodValidator(Options).Validate(Fixtures.Request(pod));
        Assert.False(d.Allowed);
        Assert.Contains("carries veil.dev/gateway", d.Message, StringComparison.Ordinal);
        Assert.Contains("spec.runtimeClassName: unset", d.Message, StringComparison.Ordinal);
    }
}
