namespace Veil.Cli.Tests;

public sealed class KubernetesCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("veil-k8s-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Manifests_print_yaml_with_the_ca_bundle_and_broker_url()
    {
        var ca = Path.Combine(_dir, "ca.pem");
        File.WriteAllText(ca, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
        var (exit, output, error) = CliRunner.Run("k8s", "manifests", "--namespace", "conf", "--image", "registry.example/veil:1", "--broker-url", "https://kbs.example:8443/", "--ca-bundle", ca);
        Assert.Equal(0, exit);
        Assert.Equal("", error);
        Assert.Contains("kind: ValidatingWebhookConfiguration", output, StringComparison.Ordinal);
        Assert.Contains("failurePolicy: Fail", output, StringComparison.Ordinal);
        Assert.Contains("caBundle: " + Convert.ToBase64String(File.ReadAllBytes(ca)), output, StringComparison.Ordinal);
        Assert.Contains("broker-url: https://kbs.example:8443/", output, StringComparison.Ordinal);
        Assert.Contains("image: registry.example/veil:1", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--namespace", "Bad_NS", "--namespace")]
    [InlineData("--broker-url", "http://kbs.example/", "--broker-url")]
    [InlineData("--ca-bundle", "/nonexistent/ca.pem", "--ca-bundle")]
    public void Bad_manifest_options_are_usage_errors(string option, string value, string named)
    {
        var (exit, output, error) = CliRunner.Run("k8s", "manifests", option, value);
        Assert.Equal(2, exit);
        Assert.Equal("", output);
        Assert.StartsWith("veil: " + named, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Admission_serve_refuses_plain_http_and_missing_certificates()
    {
        var (exit, _, error) = CliRunner.Run("admission", "serve", "--tls-cert", Path.Combine(_dir, "c.pem"), "--tls-key", Path.Combine(_dir, "k.pem"), "--urls", "http://127.0.0.1:0");
        Assert.Equal(2, exit);
        Assert.Contains("HTTPS only", error, StringComparison.Ordinal);

        (exit, _, error) = CliRunner.Run("admission", "serve", "--tls-cert", Path.Combine(_dir, "c.pem"), "--tls-key", Path.Combine(_dir, "k.pem"));
        Assert.Equal(2, exit);
        Assert.StartsWith("veil: --tls-cert/--tls-key", error, StringComparison.Ordinal);

        var config = Path.Combine(_dir, "w.yaml");
        File.WriteAllText(config, "alowed-runtime-classes: [x]\n");
        (exit, _, error) = CliRunner.Run("admission", "serve", "--tls-cert", "c", "--tls-key", "k", "--config", config);
        Assert.Equal(2, exit);
        Assert.Contains("unknown setting 'alowed-runtime-classes'", error, StringComparison.Ordinal);
    }
}
