using Veil.Broker.Admin;
using Veil.Broker.Hosting;

namespace Veil.Broker.Tests.Units;

/// <summary>
/// OIDC and role-binding settings in the config file: applied from YAML and TOML alike; an unknown role, a bad
/// repository, a subject bound twice or an issuer without audience is a configuration error naming the entry.
/// </summary>
public sealed class AdminIdentityConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("veil-ident-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private BrokerOptions Apply(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return BrokerConfigFile.Apply(path, new BrokerOptions());
    }

    [Fact]
    public void Oidc_settings_and_role_bindings_apply_from_yaml_and_toml()
    {
        var yaml = Apply("veil.yaml", """
            admin-oidc-issuer: https://idp.example.com/realms/veil
            admin-oidc-audience: veil-broker
            admin-oidc-algorithms: [RS256]
            admin-roles:
              - alice@example.com=admin
              - acme-ci=tenant-admin:acme,auditor
            """);
        var toml = Apply("veil.toml", """
            admin-oidc-issuer = "https://idp.example.com/realms/veil"
            admin-oidc-audience = "veil-broker"
            admin-oidc-algorithms = ["RS256"]
            admin-roles = ["alice@example.com=admin", "acme-ci=tenant-admin:acme,auditor"]
            """);
        foreach (var o in new[] { yaml, toml })
        {
            Assert.Equal("https://idp.example.com/realms/veil", o.AdminOidcIssuer);
            var settings = OidcSettings.From(o)!;
            Assert.Equal(["RS256"], settings.Algorithms);
            Assert.True(settings.RequireHttps);
            var bindings = RoleBindings.Parse(o.AdminRoles, "admin-roles");
            Assert.Equal("acme-ci=tenant-admin:acme,auditor\nalice@example.com=admin", bindings.Canonical);
            Assert.Equal(["acme"], bindings.TenantRepositories);
        }
    }

    [Theory]
    [InlineData("- bob=superuser", "admin-roles[0] 'bob=superuser': unknown role 'superuser' (known: admin, tenant-admin:<repository>, auditor, policy-admin)")]
    [InlineData("- alice=admin\n  - bob=tenant-admin:a/b", "admin-roles[1] 'bob=tenant-admin:a/b': unknown role 'tenant-admin:a/b'")]
    [InlineData("- bob", "admin-roles[0] 'bob': expected subject=role[,role...]")]
    [InlineData("- =admin", "admin-roles[0] '=admin': expected subject=role[,role...]")]
    [InlineData("- bob=admin\n  - bob=auditor", "admin-roles[1] 'bob=auditor': subject 'bob' is bound twice")]
    public void A_bad_binding_is_a_configuration_error_naming_the_entry(string entries, string error)
    {
        var e = Assert.Throws<BrokerConfigurationException>(() => Apply("veil.yaml", "admin-roles:\n  " + entries + "\n"));
        Assert.Contains(error, e.Message, StringComparison.Ordinal);
        Assert.StartsWith(Path.Combine(_dir, "veil.yaml"), e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://idp.example.com", null, null, "admin-oidc-audience: required with admin-oidc-issuer")]
    [InlineData("http://idp.example.com", "a", null, "admin-oidc-issuer: 'http://idp.example.com' is not an https URL")]
    [InlineData("https://idp.example.com", "a", "HS256", "admin-oidc-algorithms: 'HS256' is not supported")]
    [InlineData("https://idp.example.com", "a", "EdDSA", "admin-oidc-algorithms: 'EdDSA' is not supported")]
    [InlineData(null, "a", null, "need admin-oidc-issuer")]
    public void Oidc_settings_that_would_accept_too_much_are_refused(string? issuer, string? audience, string? alg, string error)
    {
        var options = new BrokerOptions { AdminOidcIssuer = issuer, AdminOidcAudience = audience, AdminOidcAlgorithms = alg is null ? [] : [alg] };
        Assert.Contains(error, Assert.Throws<BrokerConfigurationException>(() => OidcSettings.From(options)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_loopback_issuer_may_be_plain_http()
    {
        Assert.False(OidcSettings.From(new BrokerOptions { AdminOidcIssuer = "http://127.0.0.1:5556", AdminOidcAudience = "a" })!.RequireHttps);
    }
}
