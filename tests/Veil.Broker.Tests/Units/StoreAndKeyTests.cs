using System.Security.Cryptography;
using System.Text;
using Veil.Broker.Keys;
using Veil.Broker.Secrets;
using Veil.Broker.Storage;

namespace Veil.Broker.Tests.Units;

public sealed class StoreAndKeyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("veil-store-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Store_migrates_once_uses_wal_and_keeps_data_across_reopen()
    {
        var store = await SqliteBrokerStore.OpenAsync(_dir, CancellationToken.None);
        Assert.Equal(SqliteMigrations.Steps.Max(s => s.Version), await store.SchemaVersionAsync(CancellationToken.None));
        await store.PutResourceAsync("a/b/c", [1, 2, 3], DateTimeOffset.UtcNow, CancellationToken.None);
        var again = await SqliteBrokerStore.OpenAsync(_dir, CancellationToken.None);
        Assert.Equal(new byte[] { 1, 2, 3 }, await again.GetResourceAsync("a/b/c", CancellationToken.None));
        Assert.Equal(SqliteMigrations.Steps.Max(s => s.Version), await again.SchemaVersionAsync(CancellationToken.None));

        await using var conn = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_dir, SqliteBrokerStore.FileName)}");
        await conn.OpenAsync();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", (string?)await cmd.ExecuteScalarAsync());
        cmd.CommandText = "SELECT COUNT(*) FROM schema_migrations;";
        Assert.Equal((long)SqliteMigrations.Steps.Count, (long)(await cmd.ExecuteScalarAsync())!);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }

    [Fact]
    public void Master_key_seals_bound_to_the_name_and_never_prints_itself()
    {
        BrokerInit.Run(_dir, TimeSpan.FromDays(1), TimeProvider.System);
        using var key = MasterKey.Load(_dir, _ => null);
        var sealedValue = key.Seal(Encoding.UTF8.GetBytes("top-secret"), "a/b/c");
        Assert.DoesNotContain("top-secret", Encoding.UTF8.GetString(sealedValue), StringComparison.Ordinal);
        using (var opened = key.Open(sealedValue, "a/b/c"))
        {
            Assert.Equal("top-secret", Encoding.UTF8.GetString(opened.Span));
            Assert.Equal("[redacted]", opened.ToString());
            Assert.Equal("[redacted]", $"{opened}");
        }

        Assert.ThrowsAny<CryptographicException>(() => key.Open(sealedValue, "a/b/other"));
        sealedValue[^1] ^= 1;
        Assert.ThrowsAny<CryptographicException>(() => key.Open(sealedValue, "a/b/c"));
    }

    [Fact]
    public void Master_key_from_environment_wins_and_bad_values_are_named()
    {
        var env = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        using var fromEnv = MasterKey.Load(Path.Combine(_dir, "none"), name => name == MasterKey.EnvironmentVariable ? env : null);
        using (var opened = fromEnv.Open(fromEnv.Seal([7, 7, 7], "x/y/z"), "x/y/z"))
        {
            Assert.Equal(new byte[] { 7, 7, 7 }, opened.ToArray());
        }

        BrokerInit.Run(_dir, TimeSpan.FromDays(1), TimeProvider.System);
        using var fromFile = MasterKey.Load(_dir, _ => null);
        Assert.ThrowsAny<CryptographicException>(() => fromFile.Open(fromEnv.Seal([1], "x/y/z"), "x/y/z"));
        var e = Assert.Throws<BrokerConfigurationException>(() => MasterKey.Load(_dir, _ => "c2hvcnQ="));
        Assert.Contains("32 bytes", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("c2hvcnQ=", e.Message, StringComparison.Ordinal);
        Assert.Throws<BrokerConfigurationException>(() => MasterKey.Load(Path.Combine(_dir, "none"), _ => null));
    }
}
