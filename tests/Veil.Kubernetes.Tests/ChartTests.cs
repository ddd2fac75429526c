using System.Reflection;
using System.Text.RegularExpressions;
using YamlDotNet.Serialization;

namespace Veil.Kubernetes.Tests;

/// <summary>
/// helm cannot run here, so the chart is checked statically: Chart.yaml and values.yaml parse, every .Values path a
/// template uses exists in values.yaml, and the chart holds the same kinds as <c>veil k8s manifests</c>.
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
        var manifestKinds = Manifests.ManifestBuilder.Build(new Manifests.ManifestOptions()).Select(o => (string)o["kind"]).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(manifestKinds, chartKinds);
        foreach (var f in Directory.GetFiles(Path.Combine(ChartDir, "templates"), "webhook-*ing.yaml"))
        {
            Assert.Contains("failurePolicy: Fail", File.ReadAllText(f), StringComparison.Ordinal);
        }
    }
}
