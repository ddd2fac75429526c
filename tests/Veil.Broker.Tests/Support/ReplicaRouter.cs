using System.Net;

namespace Veil.Broker.Tests.Support;

/// <summary>
/// Sends each request of one client to the replica <c>pick(n)</c> chooses for the client's n-th request, as a load
/// balancer without affinity would. Cookies are kept below it: a cookie is scoped to the host, not the port, so the
/// session cookie set by one replica goes along to the next.
/// </summary>
internal sealed class ReplicaRouter(IReadOnlyList<Uri> replicas, Func<int, int> pick) : DelegatingHandler
{
    private int _count;

    public static HttpClient Client(IReadOnlyList<Uri> replicas, Func<int, int> pick, out CookieContainer cookies)
    {
        cookies = new CookieContainer();
        var router = new ReplicaRouter(replicas, pick) { InnerHandler = new HttpClientHandler { CookieContainer = cookies, UseCookies = true } };
        return new HttpClient(router) { BaseAddress = replicas[0], Timeout = TimeSpan.FromSeconds(30) };
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var target = replicas[pick(Interlocked.Increment(ref _count) - 1) % replicas.Count];
        request.RequestUri = new Uri(target, request.RequestUri!.PathAndQuery);
        return base.SendAsync(request, cancellationToken);
    }
}
