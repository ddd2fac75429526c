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
    public async Task Master_key_seals_bound_to_the_name_and_never_prints_itself()
    {
        BrokerInit.Run(_dir, TimeSpan.FromDays(1), TimeProvider.System);
        using var key = MasterKey.Load(_dir, _ => null);
        var sealedValue = await key.SealAsync(Encoding.UTF8.GetBytes("top-secret"), "a/b/c", CancellationToken.None);
        Assert.DoesNotContain("top-secret", Encoding.UTF8.GetString(sealedValue), StringComparison.Ordinal);
        using (var opened = await key.OpenAsync(sealedValue, "a/b/c", CancellationToken.None))
        {
            Assert.Equal("top-secret", Encoding.UTF8.GetString(opened.Span));
            Assert.Equal("[redacted]", opened.ToString());
            Assert.Equal("[redacted]", $"{opened}");
        }

        await Assert.ThrowsAnyAsync<CryptographicException>(async () => await key.OpenAsync(sealedValue, "a/b/other", CancellationToken.None));
        sealedValue[^1] ^= 1;
        await Assert.ThrowsAnyAsync<CryptographicException>(async () => await key.OpenAsync(sealedValue, "a/b/c", CancellationToken.None));
    }

    [Fact]
    public async Task Master_key_from_environment_wins_and_bad_values_are_named()
    {
        var env = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        using var fromEnv = MasterKey.Load(Path.Combine(_dir, "none"), name => name == MasterKey.EnvironmentVariable ? env : null);
        using (var opened = await fromEnv.OpenAsync(await fromEnv.SealAsync(new byte[] { 7, 7, 7 }, "x/y/z", CancellationToken.None), "x/y/z", CancellationToken.None))
        {
            Assert.Equal(new byte[] { 7, 7, 7 }, opened.ToArray());
        }

        BrokerInit.Run(_dir, TimeSpan.FromDays(1), TimeProvider.System);
        using var fromFile = MasterKey.Load(_dir, _ => null);
        // A row wrapped under another key names it: this broker does not hold it, and says so (never tries another).
        var foreign = await fromEnv.SealAsync(new byte[] { 1 }, "x/y/z", CancellationToken.None);
        await Assert.ThrowsAsync<Veil.Broker.KeyWrapping.KeyBackendUnavailableException>(async () => await fromFile.OpenAsync(foreign, "x/y/z", CancellationToken.None));
        var e = Assert.Throws<BrokerConfigurationException>(() => MasterKey.Load(_dir, _ => "c2hvcnQ="));
        Assert.Contains("32 bytes", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("c2hvcnQ=", e.Message, StringComparison.Ordinal);
        Assert.Throws<BrokerConfigurationException>(() => MasterKey.Load(Path.Combine(_dir, "none"), _ => null));
    }

    [Fact]
    public void The_token_signing_key_can_come_from_the_environment_as_replicas_take_it_from_a_secret()
    {
        BrokerInit.Run(_dir, TimeSpan.FromDays(1), TimeProvider.System);
        var pem = File.ReadAllText(Path.Combine(_dir, BrokerKeys.TokenSigningKeyFile));
        File.Delete(Path.Combine(_dir, BrokerKeys.TokenSigningKeyFile));
        Assert.Throws<BrokerConfigurationException>(() => BrokerKeys.Load(_dir));
        using var keys = BrokerKeys.Load(_dir, null, name => name == BrokerKeys.TokenSigningKeyVariable ? pem : null);
        using var fromPem = ECDsa.Create();
        fromPem.ImportFromPem(pem);
        Assert.Equal(fromPem.ExportSubjectPublicKeyInfo(), keys.TokenSigningKey.ExportSubjectPublicKeyInfo());
        var e = Assert.Throws<BrokerConfigurationException>(() => BrokerKeys.Load(_dir, null, _ => "-----BEGIN PRIVATE KEY-----\nnot-a-key\n-----END PRIVATE KEY-----"));
        Assert.StartsWith(BrokerKeys.TokenSigningKeyVariable + ": not a PEM EC private key", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-a-key", e.Message, StringComparison.Ordinal);
    }
}

public sealed class AuditGroupCommitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("veil-audit-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Concurrent_audit_records_are_all_on_disk_when_their_calls_return()
    {
        var store = await SqliteBrokerStore.OpenAsync(_dir, CancellationToken.None);
        await using (var audit = new Veil.Broker.Audit.AuditLog(store, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<Veil.Broker.Audit.AuditLog>.Instance))
        {
            await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(() =>
                audit.RecordAsync(Veil.Broker.Storage.AuditKind.Release, "tee:snp", "release", $"r/{i}/x", "sha256:00", "allowed", "test", CancellationToken.None))));
            var reopened = await SqliteBrokerStore.OpenAsync(_dir, CancellationToken.None);
            var entries = await reopened.ListAuditAsync(1000, CancellationToken.None);
            Assert.Equal(200, entries.Count);
            Assert.Equal(200, entries.Select(e => e.Resource).Distinct().Count());
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }
}
