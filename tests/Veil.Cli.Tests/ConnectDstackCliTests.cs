namespace Veil.Cli.Tests;

/// <summary><c>veil connect --form dstack</c> as a user runs it: the warning that the TLS key is not bound, named usage errors.</summary>
public sealed class ConnectDstackCliTests : IDisposable
{
    private const string Policy = """
        apiVersion: veil.dev/v1
        kind: AttestationPolicy
        metadata:
          name: any-tdx
          description: Any verified TD (CLI test).
        submodules:
          cpu:
            accept: [tdx]
            minCount: 1
            rules:
              - name: tdx-mrtd-present
                claim: tdx.mr_td
                matches: "^[0-9a-f]{96}$"
                trust: hardware
        """;

    private readonly string temp = Directory.CreateTempSubdirectory("veil-cli-connect-").FullName;

    public void Dispose() => Directory.Delete(temp, recursive: true);

    private string PolicyFile()
    {
        var path = Path.Combine(temp, "policy.yaml");
        File.WriteAllText(path, Policy);
        return path;
    }

    [Fact]
    public void The_dstack_form_warns_that_the_tls_key_is_not_bound_and_an_unreachable_endpoint_exits_1()
    {
        var (exit, _, stderr) = CliRunner.Run("connect", "https://127.0.0.1:1", "--form", "dstack", "--policy", PolicyFile(), "--once");
        Assert.Equal(1, exit);
        Assert.Contains("dstack form: the report binds the service's signing key and the nonce, not this TLS connection's key", stderr, StringComparison.Ordinal);
        Assert.Contains("veil: gateway 127.0.0.1:1 unreachable", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--dstack-path", "v1/attestation/report", "--dstack-path: expected an absolute path without query")]
    [InlineData("--dstack-path", "/v1/attestation/report?x=1", "--dstack-path: expected an absolute path without query")]
    [InlineData("--form", "tinfoil", "tinfoil")]
    public void Bad_options_are_usage_errors(string option, string value, string message)
    {
        string[] form = option == "--form" ? [] : ["--form", "dstack"];
        var (exit, _, stderr) = CliRunner.Run(["connect", "https://127.0.0.1:1", .. form, "--policy", PolicyFile(), "--once", option, value]);
        Assert.Equal(2, exit);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
    }
}
