using System.Net.Http.Headers;
using System.Security.Cryptography;
using Veil.Broker;
using Veil.Broker.Hosting;
using Veil.Broker.Keys;
using Veil.Protocol.Client;
using Veil.Sealing;
using Veil.Tests.Shared;

namespace Veil.Guest.Tests;

/// <summary>
/// The whole guest path with nothing mocked but the kernel: a real broker on loopback (--allow-sample) holds the
/// key-encryption key; the agent collects evidence through configfs-tsm, where a fake kernel serves the sample
/// provider from what the agent wrote to inblob; the broker verifies it and releases the key; the weights are restored.
/// </summary>
public sealed class ConfigFsTsmEndToEndTests : IAsyncLifetime
{
    private const string KeyId = "default/model/e2e-kek";
    private readonly string root = Path.Combine(Path.GetTempPath(), "veil-tsm-e2e-" + Guid.NewGuid().ToString("N"));
    private readonly byte[] weights = RandomNumberGenerator.GetBytes(300_000);
    private readonly byte[] tokenizer = RandomNumberGenerator.GetBytes(5_000);
    private readonly List<BrokerHost> brokers = [];
    private readonly Dictionary<string, string> adminTokens = [];

    private string P(string name) => Path.Combine(root, name);

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(P("model/tokenizer"));
        File.WriteAllBytes(P("model/model.safetensors"), weights);
        File.WriteAllBytes(P("model/tokenizer/tokenizer.model"), tokenizer);
        File.WriteAllText(P("model/config.json"), "{\"model_type\":\"demo\"}");
        using var kek = KeyEncryptionKey.Generate();
        // 4 KiB chunks: the weights span 74 chunks, so chunk order and the final flag are exercised.
        SealedDirectory.Seal(P("model"), P("sealed"), kek, KeyId, new SealOptions { ChunkSize = 4096 });
        var url = await StartBrokerAsync("broker", allowSample: true);
        await PutKeyAsync(url, "broker", kek);
    }

    private async Task<Uri> StartBrokerAsync(string name, bool allowSample)
    {
        adminTokens[name] = BrokerInit.Run(P(name), TimeSpan.FromHours(1), TimeProvider.System).AdminTokenPath;
        var host = await BrokerHost.StartAsync(new BrokerOptions { DataDir = P(name), Urls = ["http://127.0.0.1:0"], AllowSample = allowSample, Policy = "sample" }, CancellationToken.None);
        brokers.Add(host);
        return host.Addresses[0];
    }

    private async Task PutKeyAsync(Uri url, string brokerDir, KeyEncryptionKey kek)
    {
        using var admin = new HttpClient { BaseAddress = url };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", File.ReadAllText(adminTokens[brokerDir]).Trim());
        var bytes = new byte[KeyEncryptionKey.Size];
        kek.CopyTo(bytes);
        using var content = new ByteArrayContent(bytes);
        using var r = await admin.PostAsync(new Uri("kbs/v0/resource/" + KeyId, UriKind.Relative), content);
        r.EnsureSuccessStatusCode();
    }

    private static BrokerKeyProvider Agent(HttpClient http, FakeTsmKernel kernel) =>
        new(http, new SampleEvidenceProvider(new ConfigFsTsmAttester(kernel.Root, entryName: () => FakeTsmKernel.Entry)), maxRetries: 1, firstDelay: TimeSpan.FromMilliseconds(10));

    private void AssertNothingRestored()
    {
        Assert.Empty(Directory.Exists(P("tmpfs")) ? Directory.GetFileSystemEntries(P("tmpfs"), "*", SearchOption.AllDirectories) : []);
        Assert.Empty(Directory.GetFileSystemEntries(root, "*veil-staging*"));
    }

    [Fact]
    public async Task Agent_attests_through_configfs_tsm_and_the_restored_tree_appears_whole_by_one_rename()
    {
        using var kernel = new FakeTsmKernel(P("tsm/report"));
        var events = new List<string>();
        using var watcher = new FileSystemWatcher(root) { IncludeSubdirectories = false };
        watcher.Created += (_, e) => Record(events, $"created {e.Name}");
        watcher.Renamed += (_, e) => Record(events, $"renamed {e.OldName} -> {e.Name}");
        watcher.EnableRaisingEvents = true;
        using var http = KbsClient.CreateHttpClient(brokers[0].Addresses[0]);
        var keys = Agent(http, kernel);

        var result = await UnsealPipeline.RunAsync(P("sealed"), P("tmpfs"), keys);

        Assert.Equal(weights, File.ReadAllBytes(P("tmpfs/model.safetensors")));
        Assert.Equal(tokenizer, File.ReadAllBytes(P("tmpfs/tokenizer/tokenizer.model")));
        Assert.Equal(["config.json", "model.safetensors", "tokenizer/tokenizer.model"], result.Files.Order(StringComparer.Ordinal));
        Assert.Equal(1, keys.Attempts);

        // The kernel saw one report request: the 48-byte KBS binding of the broker's nonce and the agent's key.
        var inblob = Assert.Single(kernel.InBlobs);
        Assert.Equal(48, inblob.Length);

        // The target never existed half-filled: a hidden staging folder beside it was created, then renamed onto it
        // (inotify order of the parent's entries), and what is there is exactly the sealed tree, nothing added.
        await WaitUntilAsync(() => Snapshot(events).Any(e => e.EndsWith(" -> tmpfs", StringComparison.Ordinal)));
        var order = Snapshot(events);
        Assert.Matches(@"^created \.tmpfs\.veil-staging-[0-9a-f]{32}$", order[0]);
        Assert.Equal($"renamed {order[0]["created ".Length..]} -> tmpfs", Assert.Single(order, e => e.Contains("tmpfs", StringComparison.Ordinal) && e != order[0]));
        Assert.DoesNotContain("created tmpfs", order);
        Trees.AssertEqual(P("model"), P("tmpfs"));
    }

    [Fact]
    public async Task Broker_without_allow_sample_refuses_and_nothing_is_restored()
    {
        using var kernel = new FakeTsmKernel(P("tsm/report"));
        var strict = await StartBrokerAsync("strict", allowSample: false);
        using var kek = KeyEncryptionKey.Generate();
        await PutKeyAsync(strict, "strict", kek);
        using var http = KbsClient.CreateHttpClient(strict);
        var keys = Agent(http, kernel);

        var e = await Assert.ThrowsAsync<KbsClientException>(() => UnsealPipeline.RunAsync(P("sealed"), P("tmpfs"), keys));

        Assert.Equal("SampleNotAllowed", e.Kind);
        Assert.Equal(1, keys.Attempts);
        Assert.Empty(kernel.InBlobs);
        AssertNothingRestored();
    }

    [Fact]
    public async Task Stale_report_from_the_kernel_never_leaves_the_guest()
    {
        // The kernel answers with report data other than the inblob (a report made for an earlier request).
        using var kernel = new FakeTsmKernel(P("tsm/report"), inblob => SHA384.HashData(inblob));
        using var http = KbsClient.CreateHttpClient(brokers[0].Addresses[0]);

        var e = await Assert.ThrowsAsync<AttesterException>(() => UnsealPipeline.RunAsync(P("sealed"), P("tmpfs"), Agent(http, kernel)));

        Assert.Contains("outblob.report_data: differs", e.Message, StringComparison.Ordinal);
        Assert.Single(kernel.InBlobs);
        AssertNothingRestored();
    }

    [Fact]
    public async Task Tampered_weights_fail_after_the_key_release_and_leave_no_plaintext()
    {
        using var kernel = new FakeTsmKernel(P("tsm/report"));
        var victim = P("sealed/model.safetensors.veil");
        var bytes = File.ReadAllBytes(victim);
        bytes[^100] ^= 0x20;
        File.WriteAllBytes(victim, bytes);
        using var http = KbsClient.CreateHttpClient(brokers[0].Addresses[0]);
        var keys = Agent(http, kernel);

        var e = await Assert.ThrowsAsync<SealingException>(() => UnsealPipeline.RunAsync(P("sealed"), P("tmpfs"), keys));

        Assert.Equal(SealingError.ChunkAuthenticationFailed, e.Error);
        Assert.Single(kernel.InBlobs);
        AssertNothingRestored();
    }

    private static void Record(List<string> events, string what)
    {
        // Only the target and its staging folder matter; the brokers' data folders are busy beside them.
        if (what.Contains("tmpfs", StringComparison.Ordinal))
        {
            lock (events)
            {
                events.Add(what);
            }
        }
    }

    private static List<string> Snapshot(List<string> names)
    {
        lock (names)
        {
            return [.. names];
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25);
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var b in brokers)
        {
            await b.DisposeAsync();
        }

        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
