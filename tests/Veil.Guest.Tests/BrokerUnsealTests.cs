using System.Net.Http.Headers;
using System.Security.Cryptography;
using Veil.Tests.Shared;
using Veil.Broker;
using Veil.Broker.Hosting;
using Veil.Broker.Keys;
using Veil.Protocol.Client;
using Veil.Sealing;

namespace Veil.Guest.Tests;

/// <summary>End to end: a real broker on loopback holds the key-encryption key; the agent attests (sample TEE) and unseals.</summary>
public sealed class BrokerUnsealTests : IAsyncLifetime
{
    private const string KeyId = "default/model/weights-kek";
    private readonly string root = Path.Combine(Path.GetTempPath(), "veil-broker-unseal-" + Guid.NewGuid().ToString("N"));
    private readonly byte[] weights = RandomNumberGenerator.GetBytes(70_000);
    private BrokerHost? broker;
    private string? adminTokenPath;

    private string P(string name) => Path.Combine(root, name);

    private Uri Url => broker!.Addresses[0];

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(P("model"));
        File.WriteAllBytes(P("model/model.safetensors"), weights);
        File.WriteAllText(P("model/config.json"), "{\"model_type\":\"demo\"}");
        adminTokenPath = BrokerInit.Run(P("broker"), TimeSpan.FromHours(1), TimeProvider.System).AdminTokenPath;
        broker = await BrokerHost.StartAsync(new BrokerOptions { DataDir = P("broker"), Urls = ["http://127.0.0.1:0"], AllowSample = true, Policy = "sample" }, CancellationToken.None);

        using var kek = KeyEncryptionKey.Generate();
        kek.WriteToFile(P("kek"));
        SealedDirectory.Seal(P("model"), P("sealed"), kek, KeyId);
    }

    private async Task PutResourceAsync(string path, byte[] value)
    {
        using var admin = new HttpClient { BaseAddress = Url };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", File.ReadAllText(adminTokenPath!).Trim());
        using var content = new ByteArrayContent(value);
        using var r = await admin.PostAsync(new Uri("kbs/v0/resource/" + path, UriKind.Relative), content);
        r.EnsureSuccessStatusCode();
    }

    private sealed class CountingEvidence : IEvidenceProvider
    {
        private readonly SampleEvidenceProvider inner = new();

        public string Tee => inner.Tee;

        public int Released { get; private set; }

        public System.Text.Json.JsonElement PrimaryEvidence(string nonce, System.Text.Json.JsonElement teePubKey) => inner.PrimaryEvidence(nonce, teePubKey);

        public void OnKeyReleased() => Released++;
    }

    [Fact]
    public async Task Agent_attests_gets_the_key_and_restores_the_weights()
    {
        await PutResourceAsync(KeyId, File.ReadAllBytes(P("kek")));
        using var http = KbsClient.CreateHttpClient(Url);
        var evidence = new CountingEvidence();
        var keys = new BrokerKeyProvider(http, evidence);

        var result = await UnsealPipeline.RunAsync(P("sealed"), P("tmpfs"), keys);

        Assert.Equal(weights, File.ReadAllBytes(P("tmpfs/model.safetensors")));
        Assert.Equal(SHA256.HashData(File.ReadAllBytes(P("model/config.json"))), SHA256.HashData(File.ReadAllBytes(P("tmpfs/config.json"))));
        Trees.AssertEqual(P("model"), P("tmpfs"));
        Assert.Equal(KeyId, result.KeyId);
        Assert.Equal((1, 1), (keys.Attempts, evidence.Released));
    }

    [Fact]
    public async Task Missing_resource_is_refused_with_the_brokers_reason_and_nothing_restored()
    {
        using var http = KbsClient.CreateHttpClient(Url);
        var evidence = new CountingEvidence();
        var e = await Assert.ThrowsAsync<KbsClientException>(() => UnsealPipeline.RunAsync(P("sealed"), P("tmpfs"), new BrokerKeyProvider(http, evidence)));
        Assert.Equal(404, e.Status);
        Assert.Contains("does not exist", e.Detail);
        Assert.Equal(0, evidence.Released);
        Assert.False(Directory.Exists(P("tmpfs")) && Directory.EnumerateFileSystemEntries(P("tmpfs")).Any());
    }

    [Fact]
    public async Task Resource_that_is_not_a_32_byte_key_is_refused()
    {
        await PutResourceAsync(KeyId, new byte[16]);
        using var http = KbsClient.CreateHttpClient(Url);
        var e = await Assert.ThrowsAsync<KbsClientException>(() => UnsealPipeline.RunAsync(P("sealed"), P("tmpfs"), new BrokerKeyProvider(http, new SampleEvidenceProvider())));
        Assert.Contains("holds 16 bytes", e.Message);
    }

    [Fact]
    public async Task Wrong_key_from_the_broker_fails_closed()
    {
        await PutResourceAsync(KeyId, RandomNumberGenerator.GetBytes(32));
        using var http = KbsClient.CreateHttpClient(Url);
        var e = await Assert.ThrowsAsync<SealingException>(() => UnsealPipeline.RunAsync(P("sealed"), P("tmpfs"), new BrokerKeyProvider(http, new SampleEvidenceProvider())));
        Assert.Equal(SealingError.KeyUnwrapFailed, e.Error);
        Assert.False(Directory.Exists(P("tmpfs")) && Directory.EnumerateFileSystemEntries(P("tmpfs")).Any());
    }

    [Fact]
    public async Task Unreachable_broker_is_retried_then_reported()
    {
        using var http = KbsClient.CreateHttpClient(new Uri("http://127.0.0.1:9/"));
        var keys = new BrokerKeyProvider(http, new SampleEvidenceProvider(), maxRetries: 2, firstDelay: TimeSpan.FromMilliseconds(10));
        await Assert.ThrowsAsync<HttpRequestException>(() => UnsealPipeline.RunAsync(P("sealed"), P("tmpfs"), keys));
        Assert.Equal(3, keys.Attempts);
    }

    public async Task DisposeAsync()
    {
        if (broker is not null)
        {
            await broker.DisposeAsync();
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
