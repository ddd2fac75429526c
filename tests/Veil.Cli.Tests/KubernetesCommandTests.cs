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
        var (exit, output, error) = CliRunner.Run("k8s", "manifests", "--namespace", "conf", "--image", "registry.example/veil:1", "--broker-url", "https://kbs.example:8443/", "--ca-bundle", ca, "--policy-param", "snp_min_bootloader=10");
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
    [InlineData("--broker-replicas", "3", "--broker-replicas: the SQLite store runs one replica")]
    [InlineData("--broker-store-secret", "Bad_Name", "--broker-store-secret")]
    [InlineData("--broker-keys-secret", "bad/name", "--broker-keys-secret")]
    public void Bad_manifest_options_are_usage_errors(string option, string value, string named)
    {
        var (exit, output, error) = CliRunner.Run("k8s", "manifests", option, value);
        Assert.Equal(2, exit);
        Assert.Equal("", output);
        Assert.StartsWith("veil: " + named, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Manifests_with_a_store_secret_run_broker_replicas_whose_secrets_are_references_only()
    {
        var (exit, output, error) = CliRunner.Run("k8s", "manifests", "--policy-param", "snp_min_bootloader=10", "--broker-store-secret", "pg-app", "--broker-replicas", "3");
        Assert.Equal(0, exit);
        Assert.StartsWith("veil: note: no --ca-bundle", error, StringComparison.Ordinal); // the only note
        foreach (var needed in (string[])["kind: PodDisruptionBudget", "replicas: 3", "type: RollingUpdate", "podAntiAffinity", "path: /readyz", "path: /livez",
                     "name: VEIL_BROKER_STORE", "name: pg-app", "name: VEIL_MASTER_KEY", "name: veil-broker-keys", "- /var/lib/veil/broker", "- --admin-public-key", "- /etc/veil/keys/admin-public.pem"])
        {
            Assert.Contains(needed, output, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("kind: PersistentVolumeClaim", output, StringComparison.Ordinal);
        Assert.DoesNotContain("postgresql://", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Recreate", output, StringComparison.Ordinal);
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

    [Fact]
    public void Initdata_points_the_guest_at_the_broker_and_prints_annotation_and_hardware_values()
    {
        var path = Path.Combine(_dir, "initdata.toml");
        var (exit, output, error) = CliRunner.Run("k8s", "initdata", "--broker-url", "https://10.96.0.20:8443/", "--alg", "sha256", "--out", path);
        Assert.True(exit == 0, error);

        var document = File.ReadAllBytes(path);
        var annotation = output.Split('\n').Single(l => l.StartsWith("pod annotation", StringComparison.Ordinal)).Split(": ", 2)[1].Trim();
        Assert.Equal(document, Veil.Kubernetes.InitData.KataInitData.Decode(annotation));

        // What the broker's init-data binding and `veil measure initdata` will compute from the same document.
        var measurement = Veil.Measure.InitData.InitDataDigest.Compute(document);
        Assert.Contains("snp.host_data   " + Convert.ToHexStringLower(measurement.SnpHostData), output, StringComparison.Ordinal);
        Assert.Contains("tdx.mr_config_id " + Convert.ToHexStringLower(measurement.TdxMrConfigId), output, StringComparison.Ordinal);
        Assert.Equal(Convert.ToHexStringLower(measurement.Digest), CliRunner.Run("measure", "initdata", path).Out.Trim());
        var data = Veil.Measure.InitData.InitDataDocument.ParseData(document);
        Assert.Contains("url = 'https://10.96.0.20:8443'", data["aa.toml"], StringComparison.Ordinal);
        Assert.Contains("name = 'cc_kbc'\nurl = 'https://10.96.0.20:8443'", data["cdh.toml"], StringComparison.Ordinal);

        (exit, _, error) = CliRunner.Run("k8s", "initdata", "--broker-url", "https://10.96.0.20:8443/", "--out", path);
        Assert.Equal(2, exit);
        Assert.Contains("refusing to overwrite", error, StringComparison.Ordinal);
        Assert.Equal(document, File.ReadAllBytes(path));
    }

    [Theory]
    [InlineData("--broker-url", "http://kbs.example/", "--broker-url")]
    [InlineData("--alg", "md5", "--alg")]
    [InlineData("--broker-ca", "/nonexistent/ca.pem", "--broker-ca")]
    public void Bad_initdata_options_are_usage_errors(string option, string value, string named)
    {
        string[] args = ["k8s", "initdata", "--out", Path.Combine(_dir, "i.toml"), .. option == "--broker-url" ? [] : (string[])["--broker-url", "https://kbs.example/"], option, value];
        var (exit, _, error) = CliRunner.Run(args);
        Assert.Equal(2, exit);
        Assert.Contains(named, error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir, "i.toml")));
    }

    [Fact]
    public void The_broker_reads_the_settings_the_manifests_give_it()
    {
        var (exit, output, error) = CliRunner.Run("k8s", "manifests", "--policy-param", "snp_min_bootloader=10", "--policy-param", "snp_min_snp=23");
        Assert.Equal(0, exit);
        Assert.DoesNotContain("no --policy-param", error, StringComparison.Ordinal);
        Assert.Contains("- broker\n        - init\n        - --data-dir\n        - /var/lib/veil/broker\n        - --if-missing", output, StringComparison.Ordinal);

        var configMap = new YamlDotNet.Serialization.DeserializerBuilder().Build()
            .Deserialize<Dictionary<string, object>>(output.Split("---\n").Single(d => d.Contains("kind: ConfigMap", StringComparison.Ordinal) && d.Contains("broker.yaml: |", StringComparison.Ordinal)));
        var yaml = (string)((Dictionary<object, object>)configMap["data"])["broker.yaml"];
        var path = Path.Combine(_dir, "broker.yaml");
        File.WriteAllText(path, yaml);
        var options = Veil.Broker.Hosting.BrokerConfigFile.Apply(path, new Veil.Broker.BrokerOptions());
        Assert.Equal("strict", options.Policy);
        Assert.Equal("10", options.PolicyParameters["snp_min_bootloader"]);
        Assert.Equal("23", options.PolicyParameters["snp_min_snp"]);

        (exit, _, error) = CliRunner.Run("k8s", "manifests");
        Assert.Equal(0, exit);
        Assert.Contains("no --policy-param: the broker's strict policy has no TCB minimums", error, StringComparison.Ordinal);
        Assert.Equal(2, CliRunner.Run("k8s", "manifests", "--policy-param", "snp_min_tee").Exit);
    }
}
