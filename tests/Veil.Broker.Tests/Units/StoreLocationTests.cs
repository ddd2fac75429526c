using Npgsql;
using Veil.Broker.Hosting;
using Veil.Broker.Storage;

namespace Veil.Broker.Tests.Units;

/// <summary>--store / VEIL_BROKER_STORE / config store: parse libpq URLs; nothing built from them shows a credential.</summary>
public sealed class StoreLocationTests
{
    [Fact]
    public void A_libpq_url_becomes_an_npgsql_connection_string_and_prints_without_credentials()
    {
        var s = StoreLocation.Parse("postgresql://veil%40corp:p%3Ass%2Fw0rd@db.example:6432/veil?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=3", "--store");
        var b = new NpgsqlConnectionStringBuilder(s.PostgresConnectionString);
        Assert.Equal(("veil@corp", "p:ss/w0rd", "db.example:6432", "veil"), (b.Username, b.Password, b.Host, b.Database));
        Assert.Equal(SslMode.VerifyFull, b.SslMode);
        Assert.Equal("/etc/ca.pem", b.RootCertificate);
        Assert.Equal(3, b.Timeout);
        Assert.Equal("postgresql://db.example:6432/veil", s.ToString());
        Assert.Equal("postgresql://db.example:6432/veil", $"{new BrokerOptions { Store = s }.Store}");
        Assert.DoesNotContain("p:ss", new BrokerOptions { Store = s }.ToString(), StringComparison.Ordinal);
        Assert.True(s.IsPostgres);
    }

    [Fact]
    public void Defaults_fail_fast_and_several_hosts_and_postgres_scheme_are_taken()
    {
        var b = new NpgsqlConnectionStringBuilder(StoreLocation.Parse("postgres://h1:5432,h2:5433/veil", "x").PostgresConnectionString);
        Assert.Equal("h1:5432,h2:5433", b.Host);
        Assert.Equal((10, 30), (b.Timeout, b.CommandTimeout));
        Assert.True(b.NoResetOnClose);
        Assert.Equal("postgresql://localhost:5432/veil", StoreLocation.Parse("postgresql:///veil?host=localhost", "x").Display);
        Assert.Same(StoreLocation.Sqlite, StoreLocation.Parse("sqlite", "x"));
        Assert.False(StoreLocation.Sqlite.IsPostgres);
    }

    [Theory]
    [InlineData("mysql://u:secretpw@h/db", "expected 'sqlite' or a postgresql:// URL")]
    [InlineData("Host=h;Password=secretpw", "expected 'sqlite' or a postgresql:// URL")]
    [InlineData("postgresql://u:secretpw@h", "names no database")]
    [InlineData("postgresql://u:secretpw@/db", "names no host")]
    [InlineData("postgresql://u:secretpw@h/db?password=secretpw", "URL parameter 'password' is not supported")]
    [InlineData("postgresql://u:secretpw@h/db?sslmode=sometimes", "URL parameter 'sslmode' has a value Npgsql does not accept")]
    [InlineData("postgresql://u:secretpw@h/db?secretpw%00=1", "URL parameter '(unprintable)' is not supported")]
    public void Bad_urls_are_refused_naming_the_part_never_the_password(string url, string expected)
    {
        var e = Assert.Throws<BrokerConfigurationException>(() => StoreLocation.Parse(url, "--store"));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("--store: ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secretpw", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_flag_wins_over_the_environment_which_wins_over_the_config_file()
    {
        var config = StoreLocation.Parse("postgresql://config-host/veil", "config");
        Func<string, string?> env = name => name == StoreLocation.EnvironmentVariable ? "postgresql://env-host/veil" : null;
        Assert.Equal("postgresql://flag-host:5432/veil", StoreLocation.Resolve("postgresql://flag-host/veil", env, config).Display);
        Assert.Equal("postgresql://env-host:5432/veil", StoreLocation.Resolve(null, env, config).Display);
        Assert.Equal("postgresql://config-host:5432/veil", StoreLocation.Resolve(null, _ => null, config).Display);
        Assert.Same(StoreLocation.Sqlite, StoreLocation.Resolve(null, _ => null, null));
    }

    [Fact]
    public void The_config_file_takes_store()
    {
        var path = Path.Combine(Path.GetTempPath(), $"veil-store-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "store: postgresql://u:secretpw@cfg-host/veil\n");
        try
        {
            Assert.Equal("postgresql://cfg-host:5432/veil", BrokerConfigFile.Apply(path, new BrokerOptions()).Store.Display);
            File.WriteAllText(path, "store: redis://x\n");
            Assert.Contains($"{path}: store: expected 'sqlite'", Assert.Throws<BrokerConfigurationException>(() => BrokerConfigFile.Apply(path, new BrokerOptions())).Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
