using Veil.Broker.Hosting;

namespace Veil.Broker.Tests.Units;

/// <summary>veil.toml and veil.yaml give the same options; malformed TOML is refused with the file, the line and the reason.</summary>
public sealed class ConfigFileTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("veil-config-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private BrokerOptions Apply(string name, string text)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        return BrokerConfigFile.Apply(path, new BrokerOptions());
    }

    [Fact]
    public void Toml_and_yaml_settings_apply_alike()
    {
        var toml = Apply("veil.toml", """
            # comments, literal strings, quoted keys and arrays are all TOML
            data-dir = '/var/lib/veil'
            "urls" = ["http://127.0.0.1:9000", "http://127.0.0.1:9001"] # two listeners
            insecure-http = true
            session-timeout-minutes = 7
            policy-params = ["snp_min_snp=23"]
            """);
        var yaml = Apply("veil.yaml", """
            data-dir: /var/lib/veil
            urls: [http://127.0.0.1:9000, http://127.0.0.1:9001]
            insecure-http: true
            session-timeout-minutes: 7
            policy-params: [snp_min_snp=23]
            """);
        Assert.Equal("/var/lib/veil", toml.DataDir);
        Assert.Equal(["http://127.0.0.1:9000", "http://127.0.0.1:9001"], toml.Urls);
        Assert.True(toml.InsecureHttp);
        Assert.Equal(TimeSpan.FromMinutes(7), toml.SessionTimeout);
        Assert.Equal("23", toml.PolicyParameters["snp_min_snp"]);
        Assert.Equal((yaml.DataDir, yaml.InsecureHttp, yaml.SessionTimeout), (toml.DataDir, toml.InsecureHttp, toml.SessionTimeout));
        Assert.Equal(yaml.Urls, toml.Urls);
        Assert.Equal(yaml.PolicyParameters, toml.PolicyParameters);
    }

    [Fact]
    public void Collateral_and_master_key_settings_apply_from_the_file()
    {
        var yaml = Apply("veil.yaml", """
            snp-collateral-dir: /srv/amd
            kds-url: https://kdsintf.amd.com
            master-key: "pkcs11:token=veil;object=master-2?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin"
            previous-master-keys: [file]
            """);
        Assert.Equal("/srv/amd", yaml.SnpCollateralDir);
        Assert.Equal(new Uri("https://kdsintf.amd.com"), yaml.KdsUrl);
        Assert.StartsWith("pkcs11:token=veil;object=master-2", yaml.MasterKey, StringComparison.Ordinal);
        Assert.Equal(["file"], yaml.PreviousMasterKeys);
    }

    [Theory]
    [InlineData("data-dir = \"/a\"\ndata-dir = \"/b\"\n", "veil.toml:2: not valid TOML", "already defined")]
    [InlineData("data-dir = \"/a\n", "veil.toml:1: not valid TOML", "string")]
    [InlineData("data-dir = \"\\", "not valid TOML", "unterminated string")]
    [InlineData("[server]\nurls = [\"x\"]\n", "server: tables are not supported", "")]
    [InlineData("session-timeout-minutes = 1.5\n", "unsupported value", "")]
    [InlineData("insecure-http = \"yes\"\n", "expected true or false", "")]
    [InlineData("allow-sample = true\n", "allow-sample cannot be set", "")]
    [InlineData("colour = \"blue\"\n", "unknown setting 'colour'", "")]
    public void Bad_toml_is_refused_with_the_reason(string text, string expected, string alsoExpected)
    {
        var e = Assert.Throws<BrokerConfigurationException>(() => Apply("veil.toml", text));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains(alsoExpected, e.Message, StringComparison.Ordinal);
    }
}
