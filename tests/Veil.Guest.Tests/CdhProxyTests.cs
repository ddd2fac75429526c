using System.Net;
using Veil.Tests.Shared;

namespace Veil.Guest.Tests;

[CollectionDefinition(nameof(ProcessWideProxy), DisableParallelization = true)]
public sealed class ProcessWideProxy;

/// <summary>
/// The CDH API answers the key in plaintext, so its client must ignore any proxy the pod's environment configures.
/// .NET does not bypass loopback for such a proxy by itself. The process-wide default proxy is swapped for the test,
/// so this class runs alone.
/// </summary>
[Collection(nameof(ProcessWideProxy))]
public sealed class CdhProxyTests
{
    [Fact]
    public async Task A_configured_proxy_never_sees_the_key_request()
    {
        using var cdh = new LoopbackHttpServer();
        using var proxy = new LoopbackHttpServer();
        cdh.Add("/cdh/resource/models/llama/kek", new byte[32]);
        var saved = HttpClient.DefaultProxy;
        HttpClient.DefaultProxy = new WebProxy(proxy.BaseUri);
        try
        {
            using var client = CdhKeyProvider.CreateHttpClient(cdh.BaseUri);
            using var key = await new CdhKeyProvider(client, 1, TimeSpan.FromMilliseconds(10)).GetKeyAsync("models/llama/kek", CancellationToken.None);
        }
        finally
        {
            HttpClient.DefaultProxy = saved;
        }

        Assert.Empty(proxy.Requests);
        Assert.Equal(["/cdh/resource/models/llama/kek"], cdh.Requests);
    }
}
