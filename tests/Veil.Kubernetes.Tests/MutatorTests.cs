using System.Text;
using System.Text.Json.Nodes;
using Veil.Kubernetes.Admission;

namespace Veil.Kubernetes.Tests;

public sealed class MutatorTests
{
    private static readonly WebhookOptions Options = new() { KeySource = UnsealKeySource.Broker, BrokerUrl = new Uri("https://veil-broker.veil.svc:8443/"), UnsealImage = "registry.example/veil:1.0" };
    private readonly AdmissionHandler _handler = new(Options);

    private static JsonObject SealedPod() => Fixtures.GpuPod()
        .WithRuntimeClass("kata-qemu-nvidia-gpu-snp")
        .Annotate("veil.dev/sealed-model", "/models/llama.veil")
        .Annotate("veil.dev/sealed-volume", "weights");

    private (JsonObject Pod, AdmissionDecision Decision) Mutate(JsonObject pod) => Fixtures.Mutate(_handler, pod);

    [Fact]
    public void The_patch_yields_the_expected_pod_and_a_second_mutation_yields_none()
    {
        var original = SealedPod();
        var (patched, decision) = Mutate(original);
        Assert.True(decision.Allowed);
        Assert.Empty(decision.Warnings);

        var expected = SealedPod();
        expected["metadata"]!["annotations"]!["veil.dev/unseal-injected"] = "true";
        expected["spec"]!["volumes"]!.AsArray().Add(JsonNode.Parse("""{"name":"veil-model","emptyDir":{"medium":"Memory"}}"""));
        expected["spec"]!["initContainers"] = JsonNode.Parse("""
            [{"name":"veil-unseal","image":"registry.example/veil:1.0",
              "command":["veil","unseal","/models/llama.veil","--out","/run/veil/model","--broker","https://veil-broker.veil.svc:8443/","--tee","auto","--gpu","auto"],
              "volumeMounts":[{"name":"veil-model","mountPath":"/run/veil/model"},{"name":"weights","mountPath":"/models","readOnly":true}],
              "securityContext":{"allowPrivilegeEscalation":false}}]
            """);
        expected["spec"]!["containers"]![0]!["volumeMounts"]!.AsArray().Add(JsonNode.Parse("""{"name":"veil-model","mountPath":"/run/veil/model","readOnly":true}"""));
        Assert.True(JsonNode.DeepEquals(expected, patched), patched.ToJsonString());

        var (again, second) = Mutate(patched);
        Assert.True(second.Allowed);
        Assert.Null(second.Patch);
        Assert.Same(patched, again);

        // The patched pod passes the validating webhook (which runs after the mutating one).
        Assert.True(new PodValidator(Options).Validate(Fixtures.Request(patched)).Allowed);
    }

    [Fact]
    public void Missing_arrays_are_added_whole_and_existing_ones_are_appended_to()
    {
        var pod = SealedPod();
        pod["spec"]!.AsObject().Remove("volumes");
        pod["spec"]!["containers"]![0]!.AsObject().Remove("volumeMounts");
        pod["metadata"]!["annotations"]!.AsObject().Remove("veil.dev/sealed-volume");
        pod["spec"]!["containers"]!.AsArray().Add(new JsonObject { ["name"] = "metrics", ["image"] = "x", ["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = "t", ["mountPath"] = "/t" }) });
        var (_, d) = Mutate(pod);
        var ops = d.Patch!.Select(o => (o!["path"]!.GetValue<string>(), o["value"]!.GetValueKind())).ToList();
        Assert.Contains(("/spec/volumes", System.Text.Json.JsonValueKind.Array), ops);
        Assert.Contains(("/spec/initContainers", System.Text.Json.JsonValueKind.Array), ops);
        Assert.Contains(("/spec/containers/0/volumeMounts", System.Text.Json.JsonValueKind.Array), ops);
        Assert.Contains(("/spec/containers/1/volumeMounts/-", System.Text.Json.JsonValueKind.Object), ops);
        // No volume holds /models now: the init container reads its own image, and the user is told.
        Assert.Contains(d.Warnings, w => w.Contains("not under any volume", StringComparison.Ordinal));

        var withInit = SealedPod();
        withInit["spec"]!["initContainers"] = new JsonArray(new JsonObject { ["name"] = "download", ["image"] = "x" });
        var (patched, d2) = Mutate(withInit);
        Assert.Contains(d2.Patch!, o => o!["path"]!.GetValue<string>() == "/spec/initContainers/0");
        Assert.Equal("veil-unseal", patched["spec"]!["initContainers"]![0]!["name"]!.GetValue<string>());
        Assert.Equal("download", patched["spec"]!["initContainers"]![1]!["name"]!.GetValue<string>());
    }

    [Fact]
    public void Without_the_volume_annotation_the_deepest_mount_holding_the_file_is_used()
    {
        var pod = SealedPod();
        pod["metadata"]!["annotations"]!.AsObject().Remove("veil.dev/sealed-volume");
        pod["metadata"]!["annotations"]!["veil.dev/sealed-model"] = "/models/sealed/llama.veil";
        pod["spec"]!["volumes"]!.AsArray().Add(new JsonObject { ["name"] = "inner", ["emptyDir"] = new JsonObject() });
        pod["spec"]!["containers"]![0]!["volumeMounts"]!.AsArray().Add(new JsonObject { ["name"] = "inner", ["mountPath"] = "/models/sealed/", ["subPath"] = "s" });
        var (patched, _) = Mutate(pod);
        var mounts = patched["spec"]!["initContainers"]![0]!["volumeMounts"]!.AsArray();
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"name":"inner","mountPath":"/models/sealed/","readOnly":true,"subPath":"s"}"""), mounts[1]));
    }

    [Theory]
    [InlineData("veil.dev/sealed-volume", "missing-volume", "no volume 'missing-volume' in spec.volumes")]
    [InlineData("veil.dev/sealed-model", "models/relative.veil", "expected an absolute path")]
    [InlineData("veil.dev/sealed-model", "/models/../etc/shadow", "expected an absolute path")]
    [InlineData("veil.dev/sealed-model", "/elsewhere/llama.veil", "no container mounts volume 'weights' at a directory containing /elsewhere/llama.veil")]
    public void Unusable_annotations_are_refused_with_the_reason(string key, string value, string reason)
    {
        var (_, d) = Mutate(SealedPod().Annotate(key, value));
        Assert.False(d.Allowed);
        Assert.Contains(reason, d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Conflicts_and_a_missing_broker_are_refused()
    {
        var pod = SealedPod();
        pod["spec"]!["volumes"]!.AsArray().Add(new JsonObject { ["name"] = "veil-model", ["emptyDir"] = new JsonObject() });
        Assert.Contains("'veil-model' already exists", Mutate(pod).Decision.Message, StringComparison.Ordinal);

        pod = SealedPod();
        pod["spec"]!["containers"]![0]!["volumeMounts"]!.AsArray().Add(new JsonObject { ["name"] = "weights", ["mountPath"] = "/run/veil/model/" });
        Assert.Contains("spec.containers[0].volumeMounts: something is already mounted at /run/veil/model", Mutate(pod).Decision.Message, StringComparison.Ordinal);

        var noBroker = new PodMutator(new WebhookOptions { KeySource = UnsealKeySource.Broker }).Mutate(Fixtures.Request(SealedPod()));
        Assert.False(noBroker.Allowed);
        Assert.Contains("key-source broker but no broker-url", noBroker.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void By_default_the_agent_gets_the_key_through_the_guests_confidential_data_hub()
    {
        var decision = new PodMutator(new WebhookOptions()).Mutate(Fixtures.Request(SealedPod()));
        Assert.True(decision.Allowed);
        var patched = JsonPatchApplier.Apply(SealedPod(), decision.Patch!).AsObject();

        var init = patched["spec"]!["initContainers"]![0]!;
        Assert.Equal("veil-unseal", init["name"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""["veil","unseal","/models/llama.veil","--out","/run/veil/model","--cdh"]"""), init["command"]), init["command"]!.ToJsonString());
    }

    [Fact]
    public void The_model_volume_is_mounted_whole_with_no_subpath_and_the_unseal_step_runs_before_every_other_init_container()
    {
        // Readiness is the init container's exit (the app containers start after it), and the tree is the volume's
        // root: no marker file in it. A subPath would be the other way to show a folder inside the volume, but on Kata a
        // subPath of a memory emptyDir is not backed by the guest's tmpfs (kata-containers#1728, #12218).
        var pod = SealedPod();
        pod["spec"]!["initContainers"] = JsonNode.Parse("""[{"name":"warmup","image":"busybox","volumeMounts":[]}]""");
        var (patched, decision) = Mutate(pod);
        Assert.True(decision.Allowed);
        var inits = patched["spec"]!["initContainers"]!.AsArray();
        Assert.Equal(["veil-unseal", "warmup"], inits.Select(c => c!["name"]!.GetValue<string>()));
        var unsealMount = inits[0]!["volumeMounts"]!.AsArray().Single(m => m!["name"]!.GetValue<string>() == "veil-model")!;
        Assert.Equal("/run/veil/model", unsealMount["mountPath"]!.GetValue<string>());
        var command = inits[0]!["command"]!.AsArray().Select(a => a!.GetValue<string>()).ToList();
        Assert.Equal("/run/veil/model", command[command.IndexOf("--out") + 1]);
        Assert.DoesNotContain(command, a => a.Contains("READY", StringComparison.Ordinal));
        var appMount = patched["spec"]!["containers"]![0]!["volumeMounts"]!.AsArray().Single(m => m!["name"]!.GetValue<string>() == "veil-model")!;
        Assert.Null(appMount["subPath"]);
        Assert.Null(appMount["subPathExpr"]);
        Assert.True(appMount["readOnly"]!.GetValue<bool>());
    }

    [Fact]
    public void Pods_without_the_annotation_and_updates_get_no_patch()
    {
        Assert.Null(Mutate(Fixtures.GpuPod()).Decision.Patch);
        var (_, decision, _) = _handler.Handle(Fixtures.Bytes(Fixtures.Review(SealedPod(), "UPDATE")), mutate: true);
        Assert.True(decision.Allowed);
        Assert.Null(decision.Patch);
    }

    [Fact]
    public void Size_limit_and_mount_path_come_from_the_options()
    {
        var h = new AdmissionHandler(Options with { ModelSizeLimit = "80Gi", ModelMountPath = "/weights" });
        var (_, d, _) = h.Handle(Fixtures.Bytes(Fixtures.Review(SealedPod())), mutate: true);
        var patched = JsonPatchApplier.Apply(SealedPod(), d.Patch!);
        Assert.Equal("80Gi", patched["spec"]!["volumes"]![1]!["emptyDir"]!["sizeLimit"]!.GetValue<string>());
        Assert.Equal("/weights", patched["spec"]!["containers"]![0]!["volumeMounts"]![1]!["mountPath"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("veil.dev/unseal-injected", "/veil.dev~1unseal-injected")]
    [InlineData("a~b/c", "/a~0b~1c")]
    [InlineData("~1", "/~01")]
    [InlineData("", "/")]
    public void Pointer_tokens_are_escaped_per_rfc6901(string token, string escaped)
    {
        Assert.Equal(escaped, JsonPatch.Pointer(token));
        Assert.Equal(token, JsonPatchApplier.Parse(escaped).Single());
    }

    [Fact]
    public void The_annotation_added_through_an_escaped_pointer_lands_under_its_real_key()
    {
        var (patched, d) = Mutate(SealedPod());
        Assert.Contains(d.Patch!, o => o!["path"]!.GetValue<string>() == "/metadata/annotations/veil.dev~1unseal-injected");
        Assert.Equal("true", patched["metadata"]!["annotations"]!["veil.dev/unseal-injected"]!.GetValue<string>());
        Assert.DoesNotContain(Fixtures.SecretEnv, Encoding.UTF8.GetString(Fixtures.Bytes(d.Patch!)), StringComparison.Ordinal);
    }
}
