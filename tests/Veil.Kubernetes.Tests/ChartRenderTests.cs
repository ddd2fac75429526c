using System.Diagnostics;
using System.Reflection;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace Veil.Kubernetes.Tests;

/// <summary>
/// The chart rendered by a real helm (VEIL_TEST_HELM, from scripts/helm, which ./scripts/test runs): lint passes, and
/// both broker forms come out as issue 15 names them: SQLite one replica with Recreate on its volume; PostgreSQL N
/// replicas with RollingUpdate, a PodDisruptionBudget, anti-affinity, readiness on /readyz and the URL from a Secret.
/// </summary>
public sealed class ChartRenderTests
{
    private static readonly string ChartDir = Path.Combine(
        typeof(ChartRenderTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "VeilRepoRoot").Value!, "deploy", "helm", "veil");

    private static string Helm => Environment.GetEnvironmentVariable("VEIL_TEST_HELM") is { Length: > 0 } h
        ? h
        : throw new InvalidOperationException("VEIL_TEST_HELM is not set: run ./scripts/test, or export VEIL_TEST_HELM=$(scripts/helm DIR)");

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var psi = new ProcessStartInfo(Helm) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        // helm keeps its cache and config under HOME; a throwaway one keeps the test from the user's.
        var home = Directory.CreateTempSubdirectory("veil-helm-home-").FullName;
        psi.Environment["HOME"] = home;
        psi.Environment["HELM_CACHE_HOME"] = Path.Combine(home, "cache");
        psi.Environment["HELM_CONFIG_HOME"] = Path.Combine(home, "config");
        psi.Environment["HELM_DATA_HOME"] = Path.Combine(home, "data");
        try
        {
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            Assert.True(p.WaitForExit(60_000), "helm did not finish within 60 s");
            return (p.ExitCode, stdout.Result, stderr.Result);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    private static List<Dictionary<object, object>> Render(params string[] set)
    {
        var args = new List<string> { "template", "veil", ChartDir, "--namespace", "veil-system" };
        foreach (var s in set)
        {
            args.Add("--set");
            args.Add(s);
        }

        var (code, stdout, stderr) = Run([.. args]);
        Assert.True(code == 0, "helm template failed: " + stderr);
        var docs = new List<Dictionary<object, object>>();
        var parser = new Parser(new StringReader(stdout));
        var deserializer = new DeserializerBuilder().Build();
        parser.Consume<StreamStart>();
        while (parser.Accept<DocumentStart>(out _))
        {
            if (deserializer.Deserialize<Dictionary<object, object>?>(parser) is { } doc)
            {
                docs.Add(doc);
            }
        }

        return docs;
    }

    private static object? At(object? node, params object[] path)
    {
        foreach (var step in path)
        {
            node = (node, step) switch
            {
                (Dictionary<object, object> m, string key) => m.TryGetValue(key, out var v) ? v : null,
                (List<object> l, int i) => i < l.Count ? l[i] : null,
                _ => null,
            };
        }

        return node;
    }

    private static Dictionary<object, object> One(List<Dictionary<object, object>> docs, string kind, string name) =>
        Assert.Single(docs, d => (string?)At(d, "kind") == kind && (string?)At(d, "metadata", "name") == name);

    private static Dictionary<object, object> BrokerContainer(Dictionary<object, object> deployment) =>
        (Dictionary<object, object>)Assert.Single((List<object>)At(deployment, "spec", "template", "spec", "containers")!, c => (string?)At(c, "name") == "broker");

    private static Dictionary<string, object?> Env(Dictionary<object, object> container) =>
        ((List<object>)At(container, "env")!).Cast<Dictionary<object, object>>().ToDictionary(e => (string)e["name"], e => e.TryGetValue("value", out var v) ? v : e.GetValueOrDefault("valueFrom"));

    [Fact]
    public void Helm_lints_the_chart()
    {
        var (code, stdout, stderr) = Run("lint", ChartDir);
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("1 chart(s) linted, 0 chart(s) failed", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void On_sqlite_the_broker_is_one_replica_recreated_on_its_volume()
    {
        var docs = Render();
        var broker = One(docs, "Deployment", "veil-broker");
        Assert.Equal("1", At(broker, "spec", "replicas"));
        Assert.Equal("Recreate", At(broker, "spec", "strategy", "type"));
        Assert.DoesNotContain(docs, d => (string?)At(d, "kind") == "PodDisruptionBudget");
        var claim = One(docs, "PersistentVolumeClaim", "veil-broker-data");
        Assert.Equal("ReadWriteOnce", At(claim, "spec", "accessModes", 0));
        Assert.Contains((List<object>)At(broker, "spec", "template", "spec", "volumes")!, v => (string?)At(v, "persistentVolumeClaim", "claimName") == "veil-broker-data");
        var container = BrokerContainer(broker);
        Assert.Equal("/readyz", At(container, "readinessProbe", "httpGet", "path"));
        Assert.Equal("/livez", At(container, "livenessProbe", "httpGet", "path"));
        var env = Env(container);
        Assert.False(env.ContainsKey("VEIL_BROKER_STORE"));
        Assert.Equal(("0", "0"), (env["DOTNET_TieredCompilation"], env["DOTNET_ReadyToRun"]));
    }

    [Fact]
    public void On_postgresql_the_broker_runs_replicas_rolled_and_spread_with_a_budget_and_its_url_from_a_secret()
    {
        var docs = Render("broker.store.type=postgresql", "broker.replicas=4");
        var broker = One(docs, "Deployment", "veil-broker");
        Assert.Equal("4", At(broker, "spec", "replicas"));
        Assert.Equal("RollingUpdate", At(broker, "spec", "strategy", "type"));
        Assert.Equal("0", At(broker, "spec", "strategy", "rollingUpdate", "maxUnavailable"));
        Assert.NotNull(At(broker, "spec", "template", "spec", "affinity", "podAntiAffinity"));
        Assert.DoesNotContain(docs, d => (string?)At(d, "kind") == "PersistentVolumeClaim");

        var budget = One(docs, "PodDisruptionBudget", "veil-broker");
        Assert.Equal(At(broker, "spec", "selector", "matchLabels"), At(budget, "spec", "selector", "matchLabels"));
        Assert.NotNull(At(budget, "spec", "maxUnavailable") ?? At(budget, "spec", "minAvailable"));

        var container = BrokerContainer(broker);
        Assert.Equal("/readyz", At(container, "readinessProbe", "httpGet", "path"));
        var env = Env(container);
        Assert.Equal("veil-broker-store", At(env["VEIL_BROKER_STORE"], "secretKeyRef", "name"));
        Assert.Equal("url", At(env["VEIL_BROKER_STORE"], "secretKeyRef", "key"));
        Assert.Equal("master.key", At(env["VEIL_MASTER_KEY"], "secretKeyRef", "key"));
        // The manifests hold references only: no postgresql:// URL or key material anywhere in the output.
        var all = new SerializerBuilder().Build().Serialize(docs);
        Assert.DoesNotContain("postgresql://", all, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", all, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_store_type_is_refused_with_the_allowed_ones_named()
    {
        var (code, stdout, stderr) = Run("template", "veil", ChartDir, "--set", "broker.store.type=mysql");
        Assert.NotEqual(0, code);
        Assert.Contains("broker.store.type: sqlite or postgresql", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("kind: Deployment", stdout, StringComparison.Ordinal);
    }
}
