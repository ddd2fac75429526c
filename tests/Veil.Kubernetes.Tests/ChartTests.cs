using System.Reflection;
using System.Text.RegularExpressions;
using YamlDotNet.Serialization;

namespace Veil.Kubernetes.Tests;

/// <summary>
/// The chart checked statically: Chart.yaml and values.yaml parse, every .Values path a template uses exists in
/// values.yaml, and the chart holds the same kinds as <c>veil k8s manifests</c>; <see cref="ChartRenderTests"/> renders it.
/// </summary>
public sealed partial class ChartTests
{
    private static readonly string ChartDir = Path.Combine(
        typeof(ChartTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "VeilRepoRoot").Value!, "deploy", "helm", "veil");

    [GeneratedRegex(@"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")]
    private static partial Regex ValuesReference();

    [GeneratedRegex(@"^kind:\s*(\w+)", RegexOptions.Multiline)]
    private static partial Regex KindLine();

    private static Dictionary<object, object> Yaml(string file) => new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(File.ReadAllText(file));

    /// <summary>Every .Values path in the text that does not resolve in <paramref name="values"/>.</summary>
    internal static List<string> MissingValues(string template, Dictionary<object, object> values) =>
        ValuesReference().Matches(template).Select(m => m.Groups[1].Value.TrimStart('.'))
            .Where(path =>
            {
                object node = values;
                foreach (var part in path.Split('.'))
                {
                    if (node is not Dictionary<object, object> map || !map.TryGetValue(part, out var next))
                    {
                        return true;
                    }

                    node = next ?? "";
                }

                return false;
            })
            .Distinct().ToList();

    [Fact]
    public void Chart_and_values_parse()
    {
        var chart = Yaml(Path.Combine(ChartDir, "Chart.yaml"));
        Assert.Equal("v2", chart["apiVersion"]);
        Assert.Equal("veil", chart["name"]);
        Assert.NotEmpty(Yaml(Path.Combine(ChartDir, "values.yaml")));
    }

    [Fact]
    public void Every_values_reference_in_the_templates_exists()
    {
        var values = Yaml(Path.Combine(ChartDir, "values.yaml"));
        var templates = Directory.GetFiles(Path.Combine(ChartDir, "templates")).Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".tpl", StringComparison.Ordinal)).ToList();
        Assert.True(templates.Count >= 9);
        var referenced = 0;
        foreach (var file in templates)
        {
            var text = File.ReadAllText(file);
            referenced += ValuesReference().Count(text);
            Assert.True(MissingValues(text, values) is { Count: 0 } missing, $"{Path.GetFileName(file)}: not in values.yaml: {string.Join(", ", MissingValues(text, values))}");
        }

        Assert.True(referenced > 10);
    }

    [Fact]
    public void The_check_catches_a_missing_or_misspelt_value()
    {
        var values = Yaml(Path.Combine(ChartDir, "values.yaml"));
        Assert.Equal(["webhook.replica", "brokr.url", "image.tag.major"], MissingValues("{{ .Values.webhook.replica }} {{ .Values.brokr.url }} {{ .Values.image.repository }} {{ .Values.image.tag.major }}", values));
    }

    [Fact]
    public void The_chart_holds_the_same_kinds_as_the_manifests_command_and_fails_closed()
    {
        var chartKinds = Directory.GetFiles(Path.Combine(ChartDir, "templates"), "*.yaml")
            .SelectMany(f => KindLine().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value)).Order(StringComparer.Ordinal).ToList();
        // The chart holds both broker forms behind broker.store.type; the manifests command prints one at a time.
        var sqlite = Manifests.ManifestBuilder.Build(new Manifests.ManifestOptions()).Select(o => (string)o["kind"]).ToList();
        var replicated = Manifests.ManifestBuilder.Build(new Manifests.ManifestOptions { BrokerStoreSecret = "store" }).Select(o => (string)o["kind"]).ToList();
        var manifestKinds = sqlite.Concat(replicated.Except(sqlite)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(manifestKinds, chartKinds);
        foreach (var f in Directory.GetFiles(Path.Combine(ChartDir, "templates"), "webhook-*ing.yaml"))
        {
            Assert.Contains("failurePolicy: Fail", File.ReadAllText(f), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_broker_template_switches_on_the_store_type_with_replicas_probes_and_secrets()
    {
        var text = File.ReadAllText(Path.Combine(ChartDir, "templates", "broker-deployment.yaml"));
        var values = Yaml(Path.Combine(ChartDir, "values.yaml"));
        Assert.Equal("sqlite", ((Dictionary<object, object>)((Dictionary<object, object>)values["broker"])["store"])["type"]);
        foreach (var needed in (string[])["eq .Values.broker.store.type \"postgresql\"", "type: RollingUpdate", "strategy: {type: Recreate}", "podAntiAffinity",
                     "path: /readyz", "path: /livez", "name: VEIL_BROKER_STORE", "key: url", "name: VEIL_MASTER_KEY", "name: VEIL_TOKEN_SIGNING_KEY", "emptyDir: {}", "replicas: 1",
                     "--admin-public-key, /etc/veil/keys/admin-public.pem", "{name: keys, mountPath: /etc/veil/keys, readOnly: true}"])
        {
            Assert.Contains(needed, text, StringComparison.Ordinal);
        }

        // Both forms give the broker the 0700 subdirectory as its data directory, never the volume root (group-writable
        // under fsGroup), and no Secret is mounted inside it.
        Assert.Equal(2, text.Split("--data-dir, /var/lib/veil/broker, --urls").Length - 1);
        Assert.DoesNotContain("--data-dir, /var/lib/veil,", text, StringComparison.Ordinal);
        Assert.DoesNotContain("mountPath: /var/lib/veil/", text, StringComparison.Ordinal);
        Assert.DoesNotContain("subPath", text, StringComparison.Ordinal);
        Assert.Contains("{{- if eq .Values.broker.store.type \"sqlite\" }}", File.ReadAllText(Path.Combine(ChartDir, "templates", "broker-pvc.yaml")), StringComparison.Ordinal);
        Assert.Contains("{{- if eq .Values.broker.store.type \"postgresql\" }}", File.ReadAllText(Path.Combine(ChartDir, "templates", "broker-pdb.yaml")), StringComparison.Ordinal);
    }
}
