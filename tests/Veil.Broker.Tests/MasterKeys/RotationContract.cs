using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Veil.Broker.Audit;
using Veil.Broker.Keys;
using Veil.Broker.KeyWrapping;
using Veil.Broker.Secrets;
using Veil.Broker.Storage;
using Veil.Broker.Tests.Support;

namespace Veil.Broker.Tests.MasterKeys;

/// <summary>
/// Master-key rotation on each store (<see cref="SqliteRotationTests"/>, <see cref="PostgresRotationTests"/>): file →
/// PKCS#11 and back over 1,000 resources (one in twenty still in format 1), each direction interrupted and resumed;
/// in between a broker holding both keys releases every resource, at the end one holding only the file key does.
/// </summary>
public abstract class RotationContract : IAsyncLifetime
{
    private const int Count = 1000;

    protected string DataDir { get; } = Directory.CreateTempSubdirectory("veil-rotate-").FullName;

    internal IBrokerStore Store { get; private set; } = null!;

    internal abstract StoreLocation Location { get; }

    /// <summary>Directories whose files the store writes (scanned for plaintext).</summary>
    internal abstract IEnumerable<string> StoreDirs { get; }

    internal abstract Task<IBrokerStore> OpenStoreAsync();

    public virtual async Task InitializeAsync()
    {
        BrokerInit.Run(DataDir, TimeSpan.FromDays(1), TimeProvider.System);
        TestBroker.RegisterKeyFiles(DataDir);
        Store = await OpenStoreAsync();
    }

    public virtual Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(DataDir, recursive: true);
        return Task.CompletedTask;
    }

    private MasterKey Keys(string primary, params string[] previous) => RotationRun.Load(DataDir, Location, primary, previous, _ => null);

    [Fact]
    public async Task File_to_pkcs11_and_back_with_1000_resources_interrupted_and_resumed_keeps_every_value()
    {
        var hsmUri = SoftHsmToken.Uri(SoftHsmToken.NewKey("rotate"));
        var fileKey = Convert.FromBase64String(File.ReadAllText(Path.Combine(DataDir, MasterKey.FileName)).Trim());
        var values = Enumerable.Range(0, Count).Select(_ => RandomNumberGenerator.GetBytes(32)).ToArray();
        string fileId, hsmId;
        var bodies = new Dictionary<string, byte[]>();
        using (var file = Keys("file"))
        {
            fileId = file.Primary.KeyId;
            for (var i = 0; i < Count; i++)
            {
                var name = RotationFixture.Name(i);
                var row = i % 20 == 0 ? RotationFixture.SealFormat1(fileKey, values[i], name) : await file.SealAsync(values[i], name, CancellationToken.None);
                bodies[name] = Envelope.Read(row, name)?.Body.ToArray() ?? [];
                await Store.PutResourceAsync(name, row, BrokerStoreContractTime, CancellationToken.None);
            }
        }

        await using var audit = new AuditLog(Store, TimeProvider.System, NullLogger<AuditLog>.Instance);
        var dataKeys = new List<byte[]>();
        using (var toHsm = Keys(hsmUri, "file"))
        {
            hsmId = toHsm.Primary.KeyId;
            await InterruptedAsync(toHsm, audit, after: 400);
            var ids = await RotationFixture.KeyIdsAsync(Store, Count);
            Assert.Equal(400, ids.Values.Count(v => v == hsmId));

            // Mid-rotation, a broker holding both keys serves every row, whichever key wraps it: no downtime.
            await using (var broker = await TestBroker.StartAsync(dataDir: DataDir, configure: o => o with { Store = Location, MasterKey = hsmUri, PreviousMasterKeys = ["file"] }))
            {
                await RotationFixture.AssertAllReleaseAsync(broker, values);
            }

            var resumed = await MasterKeyRotation.RunAsync(Store, toHsm, audit, "admin", null, CancellationToken.None, pageSize: 64);
            Assert.Equal((Count - 400, 400, 0), (resumed.Rewrapped, resumed.AlreadyCurrent, resumed.Vanished));
        }

        Assert.All(await RotationFixture.KeyIdsAsync(Store, Count), kv => Assert.Equal(hsmId, kv.Value));
        using (var hsmOnly = Keys(hsmUri))
        {
            // The token's key alone opens every row now, format 1 rows included.
            dataKeys.AddRange(await RotationFixture.AssertAllOpenAsync(Store, hsmOnly, values));
        }

        for (var i = 0; i < Count; i++)
        {
            var name = RotationFixture.Name(i);
            if (bodies[name].Length > 0)
            {
                // Only the wrapping changed: the sealed value is byte for byte what the first broker wrote.
                Assert.Equal(bodies[name], Envelope.Read((await Store.GetResourceAsync(name, CancellationToken.None))!, name)!.Value.Body.ToArray());
            }
        }

        using (var toFile = Keys("file", hsmUri))
        {
            await InterruptedAsync(toFile, audit, after: 700);
            var resumed = await MasterKeyRotation.RunAsync(Store, toFile, audit, "admin", null, CancellationToken.None, pageSize: 64);
            Assert.Equal((Count - 700, 700, 0), (resumed.Rewrapped, resumed.AlreadyCurrent, resumed.Vanished));
        }

        Assert.All(await RotationFixture.KeyIdsAsync(Store, Count), kv => Assert.Equal(fileId, kv.Value));
        using (var fileOnly = Keys("file"))
        {
            dataKeys.AddRange(await RotationFixture.AssertAllOpenAsync(Store, fileOnly, values));
        }

        await using (var broker = await TestBroker.StartAsync(dataDir: DataDir, configure: o => o with { Store = Location }))
        {
            await RotationFixture.AssertAllReleaseAsync(broker, values);
        }

        var rotations = (await Store.ListAuditAsync(100_000, CancellationToken.None)).Where(a => a.Action == MasterKeyRotation.Action).ToList();
        Assert.Equal(8, rotations.Count); // four runs: each a start row, then an interruption or a completion
        Assert.All(rotations, r => Assert.Equal(AuditKind.AdminChange, r.Kind));
        Assert.Equal(2, rotations.Count(r => r.Reason.StartsWith("interrupted after ", StringComparison.Ordinal)));
        Assert.Single(rotations, r => r.Reason == $"completed: {Count - 400} re-wrapped under '{hsmId}', 400 already under it, 0 deleted meanwhile");

        // No value and no data key ever reached a file: not the store's (database, WAL), not the data directory, not the token.
        Assert.Equal(Count * 2, dataKeys.Count);
        Assert.Empty(RotationFixture.Scan([DataDir, SoftHsmToken.Dir, .. StoreDirs], [.. values, .. dataKeys]));
        var planted = Directory.CreateTempSubdirectory("veil-scan-").FullName;
        File.WriteAllBytes(Path.Combine(planted, "x"), [1, 2, .. dataKeys[^1], 3]);
        Assert.Equal([Path.Combine(planted, "x") + " at 2"], RotationFixture.Scan([planted], [.. values, .. dataKeys])); // the scan does find one
        Directory.Delete(planted, recursive: true);
    }

    [Fact]
    public async Task Pkcs11_to_a_new_object_in_the_token_rewraps_every_row_and_the_old_object_is_no_longer_needed()
    {
        var oldUri = SoftHsmToken.Uri(SoftHsmToken.NewKey("rotate-old"));
        var newUri = SoftHsmToken.Uri(SoftHsmToken.NewKey("rotate-new"));
        var values = Enumerable.Range(0, 50).Select(_ => RandomNumberGenerator.GetBytes(32)).ToArray();
        using (var old = Keys(oldUri))
        {
            for (var i = 0; i < values.Length; i++)
            {
                await Store.PutResourceAsync(RotationFixture.Name(i), await old.SealAsync(values[i], RotationFixture.Name(i), CancellationToken.None), BrokerStoreContractTime, CancellationToken.None);
            }
        }

        await using var audit = new AuditLog(Store, TimeProvider.System, NullLogger<AuditLog>.Instance);
        string newId;
        using (var toNew = Keys(newUri, oldUri))
        {
            newId = toNew.Primary.KeyId;
            var run = await MasterKeyRotation.RunAsync(Store, toNew, audit, "admin", null, CancellationToken.None, pageSize: 16);
            Assert.Equal((values.Length, 0, 0), (run.Rewrapped, run.AlreadyCurrent, run.Vanished));
        }

        Assert.All(await RotationFixture.KeyIdsAsync(Store, values.Length), kv => Assert.Equal(newId, kv.Value));
        using (var newOnly = Keys(newUri))
        {
            await RotationFixture.AssertAllOpenAsync(Store, newOnly, values);
        }

        // The old object alone no longer opens anything: the rows name the new key, and no key is tried in its place.
        using var oldOnly = Keys(oldUri);
        var row = (await Store.GetResourceAsync(RotationFixture.Name(0), CancellationToken.None))!;
        await Assert.ThrowsAnyAsync<Exception>(async () => (await oldOnly.OpenAsync(row, RotationFixture.Name(0), CancellationToken.None)).Dispose());
    }

    [Fact]
    public async Task A_row_written_by_a_broker_during_the_rotation_wins_and_is_not_overwritten()
    {
        using var file = Keys("file");
        for (var i = 0; i < 10; i++)
        {
            await Store.PutResourceAsync(RotationFixture.Name(i), await file.SealAsync(new byte[] { (byte)i }, RotationFixture.Name(i), CancellationToken.None), BrokerStoreContractTime, CancellationToken.None);
        }

        var target = SoftHsmToken.Uri(SoftHsmToken.NewKey("race"));
        using var toHsm = Keys(target, "file");
        await using var audit = new AuditLog(Store, TimeProvider.System, NullLogger<AuditLog>.Instance);
        var written = false;
        var result = await MasterKeyRotation.RunAsync(Store, toHsm, audit, "admin", r =>
        {
            if (!written)
            {
                // After row 0, rows 1 and 2 are read (same page) but not yet swapped: a broker writes a new value to row 1
                // (under the new primary) and deletes row 2. Each compare-and-swap then fails and the row is read again.
                written = true;
                Store.PutResourceAsync(RotationFixture.Name(1), toHsm.SealAsync("new"u8.ToArray(), RotationFixture.Name(1), CancellationToken.None).AsTask().Result, BrokerStoreContractTime, CancellationToken.None).Wait();
                Store.DeleteResourceAsync(RotationFixture.Name(2), CancellationToken.None).Wait();
            }
        }, CancellationToken.None, pageSize: 3);
        Assert.Equal((8, 1, 1), (result.Rewrapped, result.AlreadyCurrent, result.Vanished));
        using var opened = await toHsm.OpenAsync((await Store.GetResourceAsync(RotationFixture.Name(1), CancellationToken.None))!, RotationFixture.Name(1), CancellationToken.None);
        Assert.Equal("new"u8.ToArray(), opened.ToArray());
        Assert.Null(await Store.GetResourceAsync(RotationFixture.Name(2), CancellationToken.None));
    }

    private static readonly DateTimeOffset BrokerStoreContractTime = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private async Task InterruptedAsync(MasterKey keys, AuditLog audit, int after)
    {
        using var cts = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => MasterKeyRotation.RunAsync(Store, keys, audit, "admin", r =>
        {
            if (r.Seen == after)
            {
                cts.Cancel();
            }
        }, cts.Token, pageSize: 64));
    }
}

public sealed class SqliteRotationTests : RotationContract
{
    internal override StoreLocation Location => StoreLocation.Sqlite;

    internal override IEnumerable<string> StoreDirs => [DataDir];

    internal override async Task<IBrokerStore> OpenStoreAsync() => await SqliteBrokerStore.OpenAsync(DataDir, CancellationToken.None);
}

public sealed class PostgresRotationTests : RotationContract
{
    private PostgresTestDatabase? _db;

    internal override StoreLocation Location => _db!.Location;

    internal override IEnumerable<string> StoreDirs => [Path.Combine(Environment.GetEnvironmentVariable(PostgresTestServer.DirVariable) ?? "/nonexistent", "data")];

    internal override async Task<IBrokerStore> OpenStoreAsync()
    {
        _db ??= await PostgresTestServer.CreateDatabaseAsync();
        return await PostgresBrokerStore.OpenAsync(_db.Location, CancellationToken.None);
    }

    public override async Task DisposeAsync()
    {
        await ((PostgresBrokerStore)Store).DisposeAsync();
        await _db!.DisposeAsync();
        await base.DisposeAsync();
    }
}
