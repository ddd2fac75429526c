using Veil.Broker.Keys;
using Veil.Broker.KeyWrapping;
using Veil.Broker.Secrets;
using Veil.Broker.Storage;
using Veil.Broker.Tests.Support;

namespace Veil.Broker.Tests.MasterKeys;

/// <summary><c>veil broker rotate-master-key</c> as an operator runs it: killed with SIGKILL mid-way, run again, done.</summary>
public sealed class RotateCommandTests
{
    private const int Count = 1500;

    [Fact]
    public async Task Rotation_killed_mid_way_resumes_and_every_value_opens_under_the_new_key()
    {
        var dataDir = Directory.CreateTempSubdirectory("veil-rotate-cli-").FullName;
        try
        {
            BrokerInit.Run(dataDir, TimeSpan.FromDays(1), TimeProvider.System);
            TestBroker.RegisterKeyFiles(dataDir);
            var newKey = Path.Combine(dataDir, "next.key");
            var encoded = MasterKey.CreateEncoded();
            SecretLedger.Add("next master key", encoded);
            KeyFiles.WriteSecret(newKey, encoded + "\n");
            var values = Enumerable.Range(0, Count).Select(i => System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).ToArray();
            string targetId;
            await using (var store = await Storage.SqliteBrokerStoreHandle.OpenAsync(dataDir))
            {
                using var file = RotationRun.Load(dataDir, StoreLocation.Sqlite, "file", [], _ => null);
                for (var i = 0; i < Count; i++)
                {
                    await store.Store.PutResourceAsync(RotationFixture.Name(i), await file.SealAsync(values[i], RotationFixture.Name(i), CancellationToken.None), DateTimeOffset.UtcNow, CancellationToken.None);
                }

                using var next = RotationRun.Load(dataDir, StoreLocation.Sqlite, "file:" + newKey, [], _ => null);
                targetId = next.Primary.KeyId;
            }

            string[] args = ["broker", "rotate-master-key", "--data-dir", dataDir, "--from", "file", "--to", "file:" + newKey, "--batch", "1"];
            int doneAtKill;
            using (var first = VeilProcess.Start(args))
            {
                await using var watch = await Storage.SqliteBrokerStoreHandle.OpenAsync(dataDir);
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
                while ((doneAtKill = (await RotationFixture.KeyIdsAsync(watch.Store, Count)).Values.Count(v => v == targetId)) < 50 && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(20);
                }

                first.KillHard();
            }

            await using (var store = await Storage.SqliteBrokerStoreHandle.OpenAsync(dataDir))
            {
                var rotated = (await RotationFixture.KeyIdsAsync(store.Store, Count)).Values.Count(v => v == targetId);
                Assert.InRange(rotated, 50, Count - 1); // killed mid-way: some rows under each key
                Assert.True(rotated >= doneAtKill);
            }

            using (var second = VeilProcess.Start(args))
            {
                Assert.Equal(0, await second.ExitAsync());
                Assert.Contains(second.Lines, l => l.StartsWith("rotate-master-key: ", StringComparison.Ordinal) && l.Contains($"re-wrapped under '{targetId}'", StringComparison.Ordinal));
            }

            await using (var store = await Storage.SqliteBrokerStoreHandle.OpenAsync(dataDir))
            {
                Assert.All(await RotationFixture.KeyIdsAsync(store.Store, Count), kv => Assert.Equal(targetId, kv.Value));
                using var nextOnly = RotationRun.Load(dataDir, StoreLocation.Sqlite, "file:" + newKey, [], _ => null);
                await RotationFixture.AssertAllOpenAsync(store.Store, nextOnly, values);
                var audit = await store.Store.ListAuditAsync(100, CancellationToken.None);
                Assert.Equal(3, audit.Count(a => a.Action == MasterKeyRotation.Action)); // start (killed: no end row), start, completed
            }
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }
}
