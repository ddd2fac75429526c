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
}
