using System.Text;
using Veil.Kubernetes.Manifests;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace Veil.Kubernetes.Tests;

public sealed class ManifestTests
{
    private const string CaPem = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";

    /// <summary>Reads a multi-document YAML stream as kubectl would: one mapping per document.</summary>
    internal static List<Dictionary<object, object>> Documents(string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        var deserializer = new DeserializerBuilder().Build();
        parser.Consume<StreamStart>();
        var docs = new List<Dictionary<object, object>>();
        while (parser.Accept<DocumentStart>(out _))
        {
            docs.Add(deserializer.Deserialize<Dictionary<object, object>>(parser));
        }

        return docs;
    }

    private static object At(object node, params object[] path)
    {
        foreach (var p in path)
        {
            node = p is int i ? ((List<object>)node)[i] : ((Dictionary<object, object>)node)[p];
        }

        return node;
    }

    [Fact]
    public void Output_parses_as_yaml_documents_of_the_expected_kinds()
    {
        var docs = Documents(ManifestBuilder.ToYaml(ManifestBuilder.Build(new ManifestOptions { Namespace = "conf", CaBundlePem = CaPem })));
        Assert.Equal(
            ["Namespace", "ConfigMap", "Deployment", "Service", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "ConfigMap", "PersistentVolumeClaim", "Deployment", "Service"],
            docs.Select(d => (string)d["kind"]));
        foreach (var kind in (string[])["ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"])
        {
            var hook = At(docs.Single(d => (string)d["kind"] == kind), "webhooks", 0);
            Assert.Equal("Fail", At(hook, "failurePolicy"));
            Assert.Equal("None", At(hook, "sideEffects"));
            Assert.Equal(new List<object> { "v1" }, At(hook, "admissionReviewVersions"));
            Assert.Equal("enforced", At(hook, "namespaceSelector", "matchLabels", "veil.dev/confidential"));
            Assert.Equal(new List<object> { "CREATE", "UPDATE" }, At(hook, "rules", 0, "operations"));
            Assert.Contains("pods", (List<object>)At(hook, "rules", 0, "resources"));
            Assert.Equal("conf", At(hook, "clientConfig", "service", "namespace"));
            Assert.Equal(CaPem, Encoding.UTF8.GetString(Convert.FromBase64String((string)At(hook, "clientConfig", "caBundle"))));
        }

        var broker = docs.Single(d => (string)d["kind"] == "Deployment" && (string)At(d, "metadata", "name") == "veil-broker");
        var args = (List<object>)At(broker, "spec", "template", "spec", "containers", 0, "args");
        Assert.Equal(["broker", "serve", "--config", "/etc/veil/config/broker.yaml", "--data-dir", "/var/lib/veil/broker"], args.Take(6));
        Assert.Equal("DOTNET_TieredCompilation", At(broker, "spec", "template", "spec", "containers", 0, "env", 0, "name"));
        Assert.Equal("0", At(broker, "spec", "template", "spec", "containers", 0, "env", 0, "value"));
        Assert.Equal("DOTNET_ReadyToRun", At(broker, "spec", "template", "spec", "containers", 0, "env", 1, "name"));
        Assert.Equal("0", At(broker, "spec", "template", "spec", "containers", 0, "env", 1, "value"));
        var init = (List<object>)At(broker, "spec", "template", "spec", "initContainers", 0, "args");
        Assert.Equal(["broker", "init", "--data-dir", "/var/lib/veil/broker", "--if-missing"], init);
        Assert.Equal("veil-broker-data", At(broker, "spec", "template", "spec", "volumes", 0, "persistentVolumeClaim", "claimName"));
    }

    [Fact]
    public void The_webhook_settings_in_the_config_map_load_as_webhook_options()
    {
        var docs = Documents(ManifestBuilder.ToYaml(ManifestBuilder.Build(new ManifestOptions { Image = "registry.example/veil:2", BrokerUrl = new Uri("https://kbs.example:9443/") })));
        var text = (string)At(docs.Single(d => (string)d["kind"] == "ConfigMap" && (string)At(d, "metadata", "name") == "veil-admission"), "data", "webhook.yaml");
        var options = WebhookConfigFile.Parse(text, "configmap");
        Assert.Equal(new Uri("https://kbs.example:9443/"), options.BrokerUrl);
        Assert.Equal("registry.example/veil:2", options.UnsealImage);
        // Without a CA bundle the field is absent, not empty (an empty caBundle would be sent as-is).
        Assert.False(((Dictionary<object, object>)At(docs[4], "webhooks", 0, "clientConfig")).ContainsKey("caBundle"));
    }

    [Fact]
    public void Strings_that_look_like_other_types_stay_strings()
    {
        var yaml = ManifestBuilder.ToYaml([new Dictionary<string, object> { ["a"] = "true", ["b"] = "8443", ["c"] = "", ["d"] = 8443 }]);
        Assert.Contains("a: \"true\"", yaml, StringComparison.Ordinal);
        Assert.Contains("b: \"8443\"", yaml, StringComparison.Ordinal);
        Assert.Contains("d: 8443", yaml, StringComparison.Ordinal);
    }

    [Fact]
    public void With_a_postgresql_store_the_broker_runs_replicas_that_roll_spread_and_take_their_secrets_from_secrets()
    {
        var docs = Documents(ManifestBuilder.ToYaml(ManifestBuilder.Build(new ManifestOptions { BrokerStoreSecret = "pg-url", BrokerReplicas = 4 })));
        Assert.DoesNotContain(docs, d => (string)d["kind"] == "PersistentVolumeClaim");
        var pdb = docs.Single(d => (string)d["kind"] == "PodDisruptionBudget");
        Assert.Equal("1", At(pdb, "spec", "maxUnavailable").ToString());
        Assert.Equal("veil-broker", At(pdb, "spec", "selector", "matchLabels", "app.kubernetes.io/name"));
        var broker = docs.Single(d => (string)d["kind"] == "Deployment" && (string)At(d, "metadata", "name") == "veil-broker");
        Assert.Equal("4", At(broker, "spec", "replicas").ToString());
        Assert.Equal("RollingUpdate", At(broker, "spec", "strategy", "type"));
        Assert.Equal("0", At(broker, "spec", "strategy", "rollingUpdate", "maxUnavailable").ToString());
        var pod = At(broker, "spec", "template", "spec");
        Assert.Equal("kubernetes.io/hostname", At(pod, "affinity", "podAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution", 0, "podAffinityTerm", "topologyKey"));
        Assert.False(((Dictionary<object, object>)pod).ContainsKey("initContainers"));
        var container = At(pod, "containers", 0);
        Assert.Equal("/readyz", At(container, "readinessProbe", "httpGet", "path"));
        Assert.Equal("/livez", At(container, "livenessProbe", "httpGet", "path"));
        var env = ((List<object>)At(container, "env")).Cast<Dictionary<object, object>>().ToDictionary(e => (string)e["name"]);
        Assert.Equal("pg-url", At(env["VEIL_BROKER_STORE"], "valueFrom", "secretKeyRef", "name"));
        Assert.Equal("url", At(env["VEIL_BROKER_STORE"], "valueFrom", "secretKeyRef", "key"));
        Assert.Equal("veil-broker-keys", At(env["VEIL_MASTER_KEY"], "valueFrom", "secretKeyRef", "name"));
        Assert.Equal("token-signing-key.pem", At(env["VEIL_TOKEN_SIGNING_KEY"], "valueFrom", "secretKeyRef", "key"));
        Assert.Equal("master.key", At(env["VEIL_MASTER_KEY"], "valueFrom", "secretKeyRef", "key"));
        foreach (var name in (string[])["VEIL_BROKER_STORE", "VEIL_MASTER_KEY", "VEIL_TOKEN_SIGNING_KEY"])
        {
            Assert.False(env[name].ContainsKey("value")); // never inline
        }

        Assert.Equal(new Dictionary<object, object>(), At(pod, "volumes", 0, "emptyDir"));

        // The data directory is a subdirectory of the emptyDir (the broker creates it 0700: a volume root under fsGroup
        // is group-writable, which the broker refuses); the keys Secret holds only the admin public key as a file,
        // mounted read-only outside the data directory and named by --admin-public-key.
        var args = ((List<object>)At(container, "args")).Cast<string>().ToList();
        Assert.Equal("/var/lib/veil/broker", args[args.IndexOf("--data-dir") + 1]);
        Assert.Equal("/etc/veil/keys/admin-public.pem", args[args.IndexOf("--admin-public-key") + 1]);
        var mounts = ((List<object>)At(container, "volumeMounts")).Cast<Dictionary<object, object>>().ToDictionary(m => (string)m["name"]);
        Assert.Equal("/var/lib/veil", mounts["data"]["mountPath"]);
        Assert.Equal("/etc/veil/keys", mounts["keys"]["mountPath"]);
        Assert.Equal("true", mounts["keys"]["readOnly"].ToString()!.ToLowerInvariant());
        Assert.All(mounts.Values.Where(m => (string)m["name"] != "data"), m => Assert.False(((string)m["mountPath"]).StartsWith("/var/lib/veil", StringComparison.Ordinal)));
        var keysVolume = ((List<object>)At(pod, "volumes")).Cast<Dictionary<object, object>>().Single(v => (string)v["name"] == "keys");
        Assert.Equal("veil-broker-keys", At(keysVolume, "secret", "secretName"));
        Assert.Equal("admin-public.pem", At(keysVolume, "secret", "items", 0, "key"));
        Assert.Single((List<object>)At(keysVolume, "secret", "items")); // the private keys never become files

        // SQLite: one replica, Recreate, the volume, and the same probes.
        var single = Documents(ManifestBuilder.ToYaml(ManifestBuilder.Build(new ManifestOptions())))
            .Single(d => (string)d["kind"] == "Deployment" && (string)At(d, "metadata", "name") == "veil-broker");
        Assert.Equal("1", At(single, "spec", "replicas").ToString());
        Assert.Equal("Recreate", At(single, "spec", "strategy", "type"));
        Assert.Equal("/readyz", At(single, "spec", "template", "spec", "containers", 0, "readinessProbe", "httpGet", "path"));
        Assert.Equal("/livez", At(single, "spec", "template", "spec", "containers", 0, "livenessProbe", "httpGet", "path"));
        Assert.Equal("veil-broker-data", At(single, "spec", "template", "spec", "volumes", 0, "persistentVolumeClaim", "claimName"));
        Assert.Single(Documents(ManifestBuilder.ToYaml(ManifestBuilder.Build(new ManifestOptions()))), d => (string)d["kind"] == "PersistentVolumeClaim");
        Assert.DoesNotContain(Documents(ManifestBuilder.ToYaml(ManifestBuilder.Build(new ManifestOptions()))), d => (string)d["kind"] == "PodDisruptionBudget");
    }
}
