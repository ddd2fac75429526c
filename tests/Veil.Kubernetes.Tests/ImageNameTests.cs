using System.Text.RegularExpressions;
using Veil.Kubernetes.Manifests;
using Veil.Tests.Shared;
using YamlDotNet.Serialization;

namespace Veil.Kubernetes.Tests;

/// <summary>
/// The manifests, the chart and the injected init container name the image scripts/build-image builds:
/// localhost/veil:&lt;the version in Directory.Build.props&gt;, which is also the chart's appVersion.
/// </summary>
public sealed partial class ImageNameTests
{
    private static readonly string Root = Vectors.RepoRoot;

    [GeneratedRegex(@"<Version>([^<]+)</Version>")]
    private static partial Regex VersionElement();

    private static string ProjectVersion => VersionElement().Match(File.ReadAllText(Path.Combine(Root, "Directory.Build.props"))).Groups[1].Value;

    private static Dictionary<object, object> Yaml(params string[] path) =>
        new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(File.ReadAllText(Path.Combine([Root, .. path])));

    private static IEnumerable<string> Images(object node) => node switch
    {
        Dictionary<object, object> map => map.SelectMany(kv => (string)kv.Key == "image" && kv.Value is string s ? [s] : Images(kv.Value)),
        List<object> list => list.SelectMany(Images),
        _ => [],
    };

    [Fact]
    public void The_default_image_is_localhost_veil_at_the_project_version()
    {
        Assert.Matches(@"^\d+\.\d+\.\d+", ProjectVersion);
        Assert.Equal("localhost/veil:" + ProjectVersion, VeilImage.Default);
        Assert.Equal(VeilImage.Default, new WebhookOptions().UnsealImage);
        Assert.Equal(VeilImage.Default, new ManifestOptions().Image);
    }

    [Fact]
    public void Every_container_of_the_default_manifests_runs_that_image()
    {
        var docs = ManifestTests.Documents(ManifestBuilder.ToYaml(ManifestBuilder.Build(new ManifestOptions())));
        var images = docs.SelectMany(d => Images(d)).ToList();
        Assert.Equal(3, images.Count); // webhook, broker-init, broker
        Assert.All(images, i => Assert.Equal("localhost/veil:" + ProjectVersion, i));
        var webhookConfig = docs.Single(d => (string)d["kind"] == "ConfigMap" && ((Dictionary<object, object>)d["metadata"])["name"] is "veil-admission");
        Assert.Equal("localhost/veil:" + ProjectVersion, WebhookConfigFile.Parse((string)((Dictionary<object, object>)webhookConfig["data"])["webhook.yaml"], "configmap").UnsealImage);
    }

    [Fact]
    public void The_chart_defaults_to_the_same_image()
    {
        var chart = Yaml("deploy", "helm", "veil", "Chart.yaml");
        var image = (Dictionary<object, object>)Yaml("deploy", "helm", "veil", "values.yaml")["image"];
        Assert.Equal(ProjectVersion, chart["appVersion"]);
        Assert.Equal(VeilImage.Repository, image["repository"]);
        Assert.Equal("", image["tag"] ?? "");
        Assert.Equal(
            "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}",
            File.ReadAllText(Path.Combine(Root, "deploy", "helm", "veil", "templates", "_helpers.tpl")).Split('\n')[1]);
    }

    [Fact]
    public void The_build_script_tags_the_image_with_that_name()
    {
        var script = File.ReadAllLines(Path.Combine(Root, "scripts", "build-image"));
        Assert.Contains("name=" + VeilImage.Repository, script);
        Assert.Contains(script, l => l.Contains("docker-archive:$out/veil-$version.tar:$name:$version", StringComparison.Ordinal));
    }
}
