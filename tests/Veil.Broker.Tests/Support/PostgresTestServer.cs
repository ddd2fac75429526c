using System.Diagnostics;
using System.Reflection;
using Npgsql;
using Veil.Broker.Storage;

namespace Veil.Broker.Tests.Support;

/// <summary>
/// The throwaway PostgreSQL cluster that ./scripts/test starts (scripts/postgres) and hands over in
/// <see cref="UrlVariable"/>. Without it a PostgreSQL test fails, naming what to do: CI must provide it.
/// </summary>
internal static class PostgresTestServer
{
    public const string UrlVariable = "VEIL_TEST_POSTGRES";
    public const string DirVariable = "VEIL_TEST_POSTGRES_DIR";

    public static string AdminUrl
    {
        get
        {
            var url = Environment.GetEnvironmentVariable(UrlVariable);
            if (string.IsNullOrWhiteSpace(url))
            {
                throw new InvalidOperationException(
                    $"{UrlVariable} is not set: run ./scripts/test (it starts a throwaway cluster with scripts/postgres), or start one with " +
                    $"'scripts/postgres start DIR' and export {UrlVariable}=$(cat DIR/url) {DirVariable}=DIR");
            }

            RegisterSecrets(url);
            return url;
        }
    }

    /// <summary>One statement as the test cluster's administrator, outside any test database (roles are cluster-wide).</summary>
    public static async Task ExecAdminAsync(string sql)
    {
        await using var conn = new NpgsqlConnection(StoreLocation.Parse(AdminUrl, UrlVariable).PostgresConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>A fresh, empty database on the test cluster (dropped when disposed).</summary>
    public static async Task<PostgresTestDatabase> CreateDatabaseAsync()
    {
        var admin = StoreLocation.Parse(AdminUrl, UrlVariable);
        var name = "veil_t_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));
        await ExecAdminAsync($"CREATE DATABASE {name};");

        var url = AdminUrl[..AdminUrl.LastIndexOf('/')] + "/" + name;
        RegisterSecrets(url);
        return new PostgresTestDatabase(name, url, admin);
    }

    /// <summary>Restarts the cluster (same port): <c>fast</c> is a clean restart, <c>immediate</c> one as after a crash.</summary>
    public static void Restart(string mode)
    {
        var dir = Environment.GetEnvironmentVariable(DirVariable);
        if (string.IsNullOrWhiteSpace(dir))
        {
            throw new InvalidOperationException($"{DirVariable} is not set: the fault test restarts the cluster that scripts/postgres started there (./scripts/test sets it)");
        }

        var psi = new ProcessStartInfo(Path.Combine(RepoRoot, "scripts", "postgres")) { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add("restart");
        psi.ArgumentList.Add(dir);
        psi.ArgumentList.Add(mode);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException("scripts/postgres restart failed: " + err);
        }
    }

    public static string RepoRoot => typeof(PostgresTestServer).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "VeilRepoRoot").Value!;

    private static void RegisterSecrets(string url)
    {
        SecretLedger.Add("store connection URL", url);
        var at = url.LastIndexOf('@');
        var colon = url.IndexOf(':', url.IndexOf("://", StringComparison.Ordinal) + 3);
        if (at > 0 && colon > 0 && colon < at)
        {
            SecretLedger.Add("store password", url[(colon + 1)..at]);
        }
    }
}

/// <summary>One test's database: its URL for a broker's --store, and direct SQL for assertions.</summary>
internal sealed class PostgresTestDatabase(string name, string url, StoreLocation admin) : IAsyncDisposable
{
    public string Name => name;

    public string Url => url;

    public StoreLocation Location => StoreLocation.Parse(url, "test database");

    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using var conn = new NpgsqlConnection(Location.PostgresConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    public async Task ExecAsync(string sql)
    {
        await using var conn = new NpgsqlConnection(Location.PostgresConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var conn = new NpgsqlConnection(admin.PostgresConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE);", conn);
        await cmd.ExecuteNonQueryAsync();
    }
}
