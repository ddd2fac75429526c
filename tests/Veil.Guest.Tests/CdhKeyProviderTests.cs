using System.Security.Cryptography;
using System.Text;
using Veil.Sealing;
using Veil.Tests.Shared;

namespace Veil.Guest.Tests;

/// <summary>
/// The key through the CoCo guest's confidential-data-hub REST API. The fake is the lowest layer only: an HTTP server on
/// 127.0.0.1 answering <c>/cdh/resource/...</c> as CDH's api-server-rest does; sealing and unsealing are real.
/// </summary>
public sealed class CdhKeyProviderTests : IDisposable
{
    private const string KeyId = "models/llama/kek";
    private const string ResourcePath = "/cdh/resource/models/llama/kek";
    private readonly string root = Path.Combine(Path.GetTempPath(), "veil-cdh-" + Guid.NewGuid().ToString("N"));
    private readonly byte[] weights = RandomNumberGenerator.GetBytes(70_000);
    private readonly byte[] kekBytes;
    private readonly LoopbackHttpServer cdh = new();
    private readonly HttpClient http;

    public CdhKeyProviderTests()
    {
        Directory.CreateDirectory(root);
        File.WriteAllBytes(P("model.safetensors"), weights);
        using var kek = KeyEncryptionKey.Generate();
        kek.WriteToFile(P("kek"));
        kekBytes = File.ReadAllBytes(P("kek"));
        SealedFile.Seal(P("model.safetensors"), P("model.safetensors.veil"), kek, KeyId, new SealOptions { ChunkSize = 4096 });
        http = CdhKeyProvider.CreateHttpClient(CdhKeyProvider.CheckUrl(cdh.BaseUri.ToString()));
    }

    private string P(string name) => Path.Combine(root, name);

    private CdhKeyProvider Provider(int retries = 3) => new(http, retries, TimeSpan.FromMilliseconds(10));

    [Fact]
    public async Task Unseal_gets_the_key_from_cdh_at_the_headers_key_id_and_restores()
    {
        cdh.Add(ResourcePath, kekBytes);
        var provider = Provider();

        var result = await UnsealPipeline.RunAsync(P("model.safetensors.veil"), P("out"), provider);

        Assert.Equal(KeyId, result.KeyId);
        Assert.Equal(weights, File.ReadAllBytes(P("out/model.safetensors")));
        Assert.Equal(["model.safetensors"], Directory.GetFileSystemEntries(P("out")).Select(Path.GetFileName));
        Assert.Equal([ResourcePath], cdh.Requests);
        Assert.Equal(1, provider.Attempts);
    }

    [Fact]
    public async Task A_starting_cdh_is_retried_until_it_answers()
    {
        var calls = 0;
        cdh.AddResponder(ResourcePath, () => ++calls < 3 ? (503, "cdh not ready"u8.ToArray()) : (200, kekBytes));
        var provider = Provider();

        using var key = await provider.GetKeyAsync(KeyId, CancellationToken.None);

        Assert.Equal(3, provider.Attempts);
    }

    [Fact]
    public async Task A_refusal_names_cdhs_reason_and_leaves_nothing_behind()
    {
        cdh.AddResponder(ResourcePath, () => (500, Encoding.UTF8.GetBytes("get resource failed: RCAR handshake failed: 401 PolicyDeny\n")));

        var e = await Assert.ThrowsAsync<AttesterException>(() => UnsealPipeline.RunAsync(P("model.safetensors.veil"), P("out"), Provider(retries: 2)));

        Assert.Equal("cdh", e.Attester);
        Assert.Contains("answered 500: get resource failed: RCAR handshake failed: 401 PolicyDeny", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(P("out")) && Directory.EnumerateFileSystemEntries(P("out")).Any());
        Assert.Equal(3, cdh.Requests.Count);
    }

    [Fact]
    public async Task A_client_error_is_not_retried()
    {
        cdh.AddResponder(ResourcePath, () => (404, "resource not found"u8.ToArray()));
        var provider = Provider();

        var e = await Assert.ThrowsAsync<AttesterException>(() => provider.GetKeyAsync(KeyId, CancellationToken.None));

        Assert.Contains("answered 404: resource not found", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, provider.Attempts);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(33)]
    public async Task A_resource_that_is_not_a_32_byte_key_is_refused_without_showing_it(int length)
    {
        var value = Enumerable.Repeat((byte)'s', length).ToArray();
        cdh.Add(ResourcePath, value);

        var e = await Assert.ThrowsAsync<AttesterException>(() => Provider().GetKeyAsync(KeyId, CancellationToken.None));

        Assert.Contains($"holds {length} bytes; a key-encryption key is 32", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sss", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_cdh_listening_is_named_after_the_retries()
    {
        var port = cdh.Port;
        cdh.Dispose();
        using var closed = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        var provider = new CdhKeyProvider(closed, 2, TimeSpan.FromMilliseconds(10));

        var e = await Assert.ThrowsAsync<AttesterException>(() => provider.GetKeyAsync(KeyId, CancellationToken.None));

        Assert.Contains("is the guest's confidential-data-hub running?", e.Message, StringComparison.Ordinal);
        Assert.Equal(3, provider.Attempts);
    }

    [Theory]
    [InlineData("models/llama")]
    [InlineData("a/b/c/d")]
    [InlineData("a//c")]
    [InlineData("a/../c")]
    public async Task Key_ids_that_are_not_resource_paths_are_refused_before_any_request(string keyId)
    {
        var e = await Assert.ThrowsAsync<AttesterException>(() => Provider().GetKeyAsync(keyId, CancellationToken.None));

        Assert.Contains("is not a resource path repo/type/tag", e.Message, StringComparison.Ordinal);
        Assert.Empty(cdh.Requests);
    }

    [Fact]
    public async Task Key_id_segments_are_escaped_in_the_url()
    {
        cdh.Add("/cdh/resource/my%20repo/k%3Fx/t%23", kekBytes);

        using var key = await Provider().GetKeyAsync("my repo/k?x/t#", CancellationToken.None);

        Assert.Equal(["/cdh/resource/my%20repo/k%3Fx/t%23"], cdh.Requests);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8006", "http://127.0.0.1:8006/")]
    [InlineData("http://localhost:8006/", "http://localhost:8006/")]
    [InlineData("http://[::1]:8006", "http://[::1]:8006/")]
    [InlineData("http://127.0.0.1:8006/prefix/", "http://127.0.0.1:8006/prefix/")]
    public void Loopback_urls_are_accepted(string url, string expected) =>
        Assert.Equal(new Uri(expected), CdhKeyProvider.CheckUrl(url));

    [Theory]
    [InlineData("http://10.0.0.5:8006", "is not a loopback address")]
    [InlineData("http://cdh.example:8006", "is not a loopback address")]
    [InlineData("ftp://127.0.0.1:8006", "is not an http:// URL")]
    [InlineData("127.0.0.1:8006", "is not an http:// URL")]
    [InlineData("http://127.0.0.1:8006/?x=1", "is not an http:// URL")]
    public void Other_urls_are_refused(string url, string reason)
    {
        var e = Assert.Throws<AttesterException>(() => CdhKeyProvider.CheckUrl(url));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        http.Dispose();
        cdh.Dispose();
        Directory.Delete(root, recursive: true);
    }
}
