using Veil.Broker.KeyWrapping;
using Veil.Broker.Tests.Support;

namespace Veil.Broker.Tests.MasterKeys;

/// <summary>Bad --master-key URIs are configuration errors that name the field and the attribute, and never echo a PIN.</summary>
public sealed class Pkcs11UriTests
{
    private static Func<string, string?> NoEnvironment => _ => null;

    private static string Module => SoftHsmToken.ModulePath;

    [Fact]
    public void A_full_uri_parses_into_token_object_id_module_and_pin_source()
    {
        var uri = Pkcs11KeyUri.Parse($"pkcs11:token=veil%20test;object=veil-master;id=%01%02?module-path={Module}&pin-source=file:/run/pin", "--master-key", NoEnvironment);
        Assert.Equal("veil test", uri.Token);
        Assert.Equal("veil-master", uri.Object);
        Assert.Equal(new byte[] { 1, 2 }, uri.Id);
        Assert.Equal(Module, uri.ModulePath);
        Assert.Equal("pkcs11:token=veil test;object=veil-master;id=0102", uri.KeyId);
    }

    [Fact]
    public void The_module_may_come_from_the_environment()
    {
        var uri = Pkcs11KeyUri.Parse("pkcs11:token=t;object=o", "--master-key", n => n == Pkcs11KeyUri.ModuleVariable ? Module : null);
        Assert.Equal(Module, uri.ModulePath);
    }

    [Theory]
    [InlineData("pkcs11:object=o?module-path=MODULE", "--master-key: token= is missing")]
    [InlineData("pkcs11:token=t?module-path=MODULE", "--master-key: object= is missing")]
    [InlineData("pkcs11:token=t;object=o;colour=red?module-path=MODULE", "--master-key: 'colour' is not a supported path attribute")]
    [InlineData("pkcs11:token=t;object=o?module-path=MODULE&pin-file=/x", "--master-key: 'pin-file' is not a supported query attribute")]
    [InlineData("pkcs11:token=t;object=o;type=private?module-path=MODULE", "--master-key: type= must be secret-key")]
    [InlineData("pkcs11:token=%zz;object=o?module-path=MODULE", "--master-key: not a valid RFC 7512 URI")]
    [InlineData("pkcs11:token=t;object=o?module-path=MODULE&pin-source=https://example/pin", "--master-key: pin-source must be file:PATH or env:NAME")]
    [InlineData("pkcs11:token=t;object=o", "--master-key: module-path is missing")]
    [InlineData("pkcs11:token=t;object=o?module-path=/nonexistent/libp11.so", "--master-key: module-path: no such file: /nonexistent/libp11.so")]
    [InlineData("pkcs12:token=t;object=o", "--master-key: not a PKCS#11 URI")]
    public void Each_bad_uri_names_the_field_and_what_is_wrong(string text, string expected)
    {
        var e = Assert.Throws<BrokerConfigurationException>(() => Pkcs11KeyUri.Parse(text.Replace("MODULE", Module, StringComparison.Ordinal), "--master-key", NoEnvironment));
        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("pkcs11:token=t;object=o?module-path=MODULE&pin-value=Sup3rSecretPin")]
    [InlineData("pkcs11:token=t;object=o?pin-value=Sup3rSecretPin&module-path=MODULE")]
    [InlineData("pkcs11:token=t;object=o;pin-value=Sup3rSecretPin?module-path=MODULE")]
    [InlineData("pkcs11:token=t;object=o?module-path=MODULE&pinvalue%3DSup3rSecretPin")]
    public void A_pin_in_the_uri_is_refused_without_being_echoed(string text)
    {
        var e = Assert.Throws<BrokerConfigurationException>(() => Pkcs11KeyUri.Parse(text.Replace("MODULE", Module, StringComparison.Ordinal), "--master-key", NoEnvironment));
        Assert.StartsWith("--master-key: ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Sup3rSecretPin", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void The_pin_comes_from_a_private_file_or_the_environment_and_its_absence_is_named()
    {
        var dir = Directory.CreateTempSubdirectory("veil-pin-").FullName;
        try
        {
            var pinFile = Path.Combine(dir, "pin");
            File.WriteAllText(pinFile, "4711-pin\n");
            File.SetUnixFileMode(pinFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            var fromFile = Pkcs11KeyUri.Parse($"pkcs11:token=t;object=o?module-path={Module}&pin-source=file:{pinFile}", "--master-key", NoEnvironment);
            using (var pin = fromFile.ReadPin("--master-key", NoEnvironment))
            {
                Assert.Equal("4711-pin"u8.ToArray(), pin.ToArray());
                Assert.Equal("[redacted]", pin.ToString());
            }

            File.SetUnixFileMode(pinFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
            var open = Assert.Throws<BrokerConfigurationException>(() => fromFile.ReadPin("--master-key", NoEnvironment));
            Assert.Contains("permissions are too open", open.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("4711", open.Message, StringComparison.Ordinal);

            var fromEnv = Pkcs11KeyUri.Parse($"pkcs11:token=t;object=o?module-path={Module}&pin-source=env:MY_PIN", "--master-key", NoEnvironment);
            using (var pin = fromEnv.ReadPin("--master-key", n => n == "MY_PIN" ? "9999-pin" : null))
            {
                Assert.Equal("9999-pin"u8.ToArray(), pin.ToArray());
            }

            var none = Pkcs11KeyUri.Parse($"pkcs11:token=t;object=o?module-path={Module}", "--master-key", NoEnvironment);
            var missing = Assert.Throws<BrokerConfigurationException>(() => none.ReadPin("--master-key", NoEnvironment));
            Assert.Equal($"--master-key: no PIN: {Pkcs11KeyUri.PinVariable} is not set (or give pin-source=file:PATH)", missing.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("AAAA")]
    [InlineData("kms:arn:aws:kms:eu-west-1:1:key/x")]
    public void A_master_key_that_is_neither_file_nor_pkcs11_is_refused_without_echo(string spec)
    {
        var e = Assert.Throws<BrokerConfigurationException>(() => MasterKeySpec.Open(spec, "--master-key", "/nonexistent", NoEnvironment, sharedStore: false));
        Assert.Equal("--master-key: must be 'file', 'file:PATH' or an RFC 7512 'pkcs11:' URI", e.Message);
    }

    [Fact]
    public async Task A_broker_with_a_bad_master_key_uri_does_not_start_and_names_the_field()
    {
        var e = await Assert.ThrowsAsync<BrokerConfigurationException>(() => TestBroker.StartAsync(configure: o => o with { MasterKey = $"pkcs11:object=o?module-path={Module}" }));
        Assert.Equal("--master-key: token= is missing (the token's label, as softhsm2-util --show-slots prints it)", e.Message);
        var previous = await Assert.ThrowsAsync<BrokerConfigurationException>(() => TestBroker.StartAsync(configure: o => o with { PreviousMasterKeys = ["pkcs11:token=t;object=o;bad=1"] }));
        Assert.StartsWith("--previous-master-key: 'bad' is not a supported path attribute", previous.Message, StringComparison.Ordinal);
    }
}
