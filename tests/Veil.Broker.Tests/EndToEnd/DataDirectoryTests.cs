using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Veil.Broker.Admin;
using Veil.Broker.Hosting;
using Veil.Broker.Keys;
using Veil.Broker.Storage;
using Veil.Broker.Tests.Support;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>The data directory is created 0700 and a broker refuses one that group or others can open.</summary>
public sealed class DataDirectoryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("veil-datadir-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Init_creates_0700_and_a_group_or_world_readable_directory_is_refused_with_the_fix()
    {
        var dir = Path.Combine(_root, "data");
        BrokerInit.Run(dir, TimeSpan.FromMinutes(5), TimeProvider.System);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dir));

        foreach (var mode in new[] { 0b111_101_101, 0b111_111_000, 0b111_000_001 })
        {
            File.SetUnixFileMode(dir, (UnixFileMode)mode);
            var e = await Assert.ThrowsAsync<BrokerConfigurationException>(() => BrokerHost.StartAsync(
                new BrokerOptions { DataDir = dir, Urls = ["http://127.0.0.1:0"], AllowSample = true, Policy = "sample" }, CancellationToken.None));
            Assert.Equal($"--data-dir {dir} is open to group or others (mode 0{Convert.ToString(mode, 8)}); it holds the broker's keys: run 'chmod 700 {dir}'", e.Message);
        }

        File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await using var host = await BrokerHost.StartAsync(new BrokerOptions { DataDir = dir, Urls = ["http://127.0.0.1:0"], AllowSample = true, Policy = "sample" }, CancellationToken.None);
        Assert.NotEmpty(host.Addresses);
    }

    private const UnixFileMode Owner = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Start as a replica would, with <paramref name="env"/> as its environment (nothing else leaks in).</summary>
    private static Task<BrokerHost> StartReplicaAsync(string dataDir, StoreLocation store, Dictionary<string, string> env, params string[] adminKeys) =>
        BrokerHost.StartAsync(
            new BrokerOptions { DataDir = dataDir, Store = store, Urls = ["http://127.0.0.1:0"], AllowSample = true, Policy = "sample", AdminPublicKeyPaths = adminKeys, StoreStartupWait = TimeSpan.Zero },
            null, name => env.GetValueOrDefault(name), CancellationToken.None);

    /// <summary>A Kubernetes emptyDir under fsGroup: a root group and others may write, which the broker refuses as its data directory.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private string EmptyDir()
    {
        var mount = Path.Combine(_root, "emptydir");
        Directory.CreateDirectory(mount);
        File.SetUnixFileMode(mount, (UnixFileMode)0b111_111_111);
        return mount;
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task A_postgresql_replica_creates_its_data_dir_0700_and_refuses_to_start_without_the_shared_MasterKey_and_signing_key()
    {
        // Nothing listens on port 1: every refusal below comes before the store is opened.
        var store = StoreLocation.Parse("postgresql://veil@127.0.0.1:1/veil", "--store");
        var dir = Path.Combine(EmptyDir(), "broker");
        var keys = Path.Combine(_root, "keys");
        BrokerInit.Run(keys, TimeSpan.FromMinutes(5), TimeProvider.System);
        var env = new Dictionary<string, string>();

        var e = await Assert.ThrowsAsync<BrokerConfigurationException>(() => StartReplicaAsync(dir, store, env));
        Assert.Equal(Owner, File.GetUnixFileMode(dir)); // created 0700 inside the group-writable mount
        Assert.Contains("with a PostgreSQL store every replica must use the same master key: set VEIL_MASTER_KEY", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("run 'veil broker init", e.Message, StringComparison.Ordinal); // a key of its own would not be the others'

        env[Veil.Broker.Secrets.MasterKey.EnvironmentVariable] = File.ReadAllText(Path.Combine(keys, "master.key")).Trim();
        e = await Assert.ThrowsAsync<BrokerConfigurationException>(() => StartReplicaAsync(dir, store, env));
        Assert.Contains("every replica must sign with the same key: set VEIL_TOKEN_SIGNING_KEY", e.Message, StringComparison.Ordinal);

        env[BrokerKeys.TokenSigningKeyVariable] = File.ReadAllText(Path.Combine(keys, BrokerKeys.TokenSigningKeyFile));
        e = await Assert.ThrowsAsync<BrokerConfigurationException>(() => StartReplicaAsync(dir, store, env));
        Assert.Contains("--admin-public-key", e.Message, StringComparison.Ordinal);
        foreach (var line in env.Values.SelectMany(v => v.Split('\n')).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith("-----", StringComparison.Ordinal)))
        {
            Assert.DoesNotContain(line, e.Message, StringComparison.Ordinal); // no key material in a refusal
        }

        // An existing data directory is never loosened or tightened: one open to the group is still refused.
        File.SetUnixFileMode(dir, (UnixFileMode)0b111_111_000);
        e = await Assert.ThrowsAsync<BrokerConfigurationException>(() => StartReplicaAsync(dir, store, env, Path.Combine(keys, BrokerKeys.AdminPublicKeyFile)));
        Assert.Contains("is open to group or others", e.Message, StringComparison.Ordinal);

        // SQLite keeps its keys and store in the data directory: a missing one is not created but refused with 'veil broker init'.
        var missing = Path.Combine(_root, "emptydir", "sqlite");
        e = await Assert.ThrowsAsync<BrokerConfigurationException>(() => StartReplicaAsync(missing, StoreLocation.Sqlite, env));
        Assert.Equal($"--data-dir {missing} does not exist (run 'veil broker init --data-dir {missing}')", e.Message);
        Assert.False(Directory.Exists(missing));
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task A_postgresql_replica_laid_out_as_the_manifests_say_starts_with_its_keys_from_the_environment_and_outside_the_data_dir()
    {
        // The manifests' layout: --data-dir /var/lib/veil/broker in an emptyDir, VEIL_MASTER_KEY and VEIL_TOKEN_SIGNING_KEY
        // from the keys Secret, admin-public.pem read-only under /etc/veil/keys named by --admin-public-key.
        await using var db = await PostgresTestServer.CreateDatabaseAsync();
        var keys = Path.Combine(_root, "keys");
        BrokerInit.Run(keys, TimeSpan.FromMinutes(5), TimeProvider.System);
        TestBroker.RegisterKeyFiles(keys);
        var secretDir = Path.Combine(_root, "etc-veil-keys");
        Directory.CreateDirectory(secretDir);
        var adminPublic = Path.Combine(secretDir, BrokerKeys.AdminPublicKeyFile);
        File.Copy(Path.Combine(keys, BrokerKeys.AdminPublicKeyFile), adminPublic);
        File.SetUnixFileMode(adminPublic, (UnixFileMode)0b100_100_100); // a Secret volume's file under fsGroup: readable by the group
        var env = new Dictionary<string, string>
        {
            [Veil.Broker.Secrets.MasterKey.EnvironmentVariable] = File.ReadAllText(Path.Combine(keys, "master.key")).Trim(),
            [BrokerKeys.TokenSigningKeyVariable] = File.ReadAllText(Path.Combine(keys, BrokerKeys.TokenSigningKeyFile)),
        };
        var mount = EmptyDir();

        // Two replicas, each with its own emptyDir subdirectory, the same keys from the one Secret.
        await using var a = await StartReplicaAsync(Path.Combine(mount, "a"), db.Location, env, adminPublic);
        await using var b = await StartReplicaAsync(Path.Combine(mount, "b"), db.Location, env, adminPublic);
        Assert.Equal(Owner, File.GetUnixFileMode(Path.Combine(mount, "a")));
        Assert.Empty(Directory.GetFiles(Path.Combine(mount, "a"))); // no key and no store lands in the data directory

        using var adminKey = ECDsa.Create();
        adminKey.ImportFromPem(File.ReadAllText(Path.Combine(keys, BrokerKeys.AdminPrivateKeyFile)));
        var token = AdminTokens.Create(adminKey, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5));
        using var http = new HttpClient();
        foreach (var host in new[] { a, b })
        {
            await Readiness.UntilReadyAsync(http, host.Addresses[0], TimeSpan.FromSeconds(30), "a replica on the shared store was not ready within 30 s");
            using var list = new HttpRequestMessage(HttpMethod.Get, new Uri(host.Addresses[0], "/veil/v0/resources"));
            list.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(list)).StatusCode);
        }
    }
}
