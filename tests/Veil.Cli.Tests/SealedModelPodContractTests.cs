using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Veil.Kubernetes;
using Veil.Kubernetes.Admission;
using Veil.Kubernetes.Tests;
using Veil.Tests.Shared;

namespace Veil.Cli.Tests;

/// <summary>
/// The init container / app container contract of a sealed-model pod, run for real: the webhook's patch is applied,
/// the injected <c>veil-unseal</c> command runs against folders standing in for the pod's volumes (the memory emptyDir
/// exists and is empty, as the kubelet makes it), and what the app container's read-only mount shows is exactly the
/// sealed model folder, a file named READY included. Readiness is the init container's successful exit: Kubernetes
/// starts the app containers only after it.
/// </summary>
public sealed class SealedModelPodContractTests : IDisposable
{
    private const string KeyId = "models/llama/kek";
    private readonly string root = Directory.CreateTempSubdirectory("veil-pod-contract-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private string P(string name) => Path.Combine(root, name);

    [Fact]
    public void The_app_container_sees_exactly_the_sealed_tree_after_the_injected_init_container_ran()
    {
        Directory.CreateDirectory(P("model/tokenizer"));
        File.WriteAllBytes(P("model/model.safetensors"), RandomNumberGenerator.GetBytes(100_000));
        File.WriteAllText(P("model/READY"), "a file of the model, not a marker");
        File.WriteAllText(P("model/tokenizer/tokenizer.json"), "{}");
        Assert.Equal(0, CliRunner.Run("seal", P("model"), "--out", P("pvc/llama.sealed"), "--key-id", KeyId, "--kek-file", P("kek"), "--new-kek").Exit);

        var pod = Fixtures.GpuPod().WithRuntimeClass("kata-qemu-nvidia-gpu-snp")
            .Annotate(VeilNames.SealedModelAnnotation, "/models/llama.sealed").Annotate(VeilNames.SealedVolumeAnnotation, "weights");
        var decision = new PodMutator(new WebhookOptions()).Mutate(Fixtures.Request(pod));
        Assert.True(decision.Allowed, decision.Message);
        var patched = JsonPatchApplier.Apply(pod, decision.Patch!).AsObject();
        var spec = patched["spec"]!;
        var init = spec["initContainers"]![0]!;
        Assert.Equal(VeilNames.InitContainerName, init["name"]!.GetValue<string>());

        // Each pod path the init container sees maps to the folder standing in for the volume mounted there.
        var volumes = new Dictionary<string, string>(StringComparer.Ordinal) { ["veil-model"] = P("emptydir"), ["weights"] = P("pvc") };
        Directory.CreateDirectory(P("emptydir"));
        var mounts = init["volumeMounts"]!.AsArray().Select(m => (Path: m!["mountPath"]!.GetValue<string>(), Dir: volumes[m["name"]!.GetValue<string>()])).ToList();
        string Host(string arg) => mounts.Where(m => arg == m.Path || arg.StartsWith(m.Path + "/", StringComparison.Ordinal))
            .Select(m => m.Dir + arg[m.Path.Length..]).FirstOrDefault() ?? arg;
        var command = init["command"]!.AsArray().Select(a => Host(a!.GetValue<string>())).ToList();
        Assert.Equal(["veil", "unseal", P("pvc/llama.sealed"), "--out", P("emptydir"), "--cdh"], command);

        // The guest's confidential-data-hub, as the lowest layer: it answers with the key at the header's key id.
        using var cdh = new LoopbackHttpServer();
        cdh.Add("/cdh/resource/" + KeyId, File.ReadAllBytes(P("kek")));
        var (exit, output, err) = CliRunner.Run([.. command.Skip(1), cdh.BaseUri.ToString()]);
        Assert.True(exit == 0, output + err);

        var app = spec["containers"]![0]!["volumeMounts"]!.AsArray().Single(m => m!["name"]!.GetValue<string>() == VeilNames.ModelVolumeName)!;
        Assert.Equal("/run/veil/model", app["mountPath"]!.GetValue<string>());
        Assert.True(app["readOnly"]!.GetValue<bool>());
        Assert.Null(app["subPath"]);
        Assert.Equal("Memory", spec["volumes"]!.AsArray().Single(v => v!["name"]!.GetValue<string>() == VeilNames.ModelVolumeName)!["emptyDir"]!["medium"]!.GetValue<string>());
        Trees.AssertEqual(P("model"), volumes["veil-model"]);
        var (diff, diffOut) = Trees.DiffR(P("model"), volumes["veil-model"]);
        Assert.True(diff == 0, diffOut);
    }

    [Fact]
    public void A_failed_unseal_leaves_the_app_mount_empty_and_exits_non_zero_so_the_app_never_starts()
    {
        Directory.CreateDirectory(P("model"));
        File.WriteAllBytes(P("model/model.safetensors"), RandomNumberGenerator.GetBytes(50_000));
        Assert.Equal(0, CliRunner.Run("seal", P("model"), "--out", P("pvc/llama.sealed"), "--key-id", KeyId, "--kek-file", P("kek"), "--new-kek").Exit);
        var victim = P("pvc/llama.sealed/model.safetensors.veil");
        var bytes = File.ReadAllBytes(victim);
        bytes[^10] ^= 1;
        File.WriteAllBytes(victim, bytes);
        Directory.CreateDirectory(P("emptydir"));
        using var cdh = new LoopbackHttpServer();
        cdh.Add("/cdh/resource/" + KeyId, File.ReadAllBytes(P("kek")));

        var (exit, _, err) = CliRunner.Run("unseal", P("pvc/llama.sealed"), "--out", P("emptydir"), "--cdh", cdh.BaseUri.ToString());

        Assert.Equal(1, exit);
        Assert.Contains("ChunkAuthenticationFailed", err, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(P("emptydir")));
    }
}
