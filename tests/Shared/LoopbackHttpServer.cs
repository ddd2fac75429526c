using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Veil.Tests.Shared;

/// <summary>
/// A tiny HTTP server on 127.0.0.1 (random port) serving fixed bodies by path and query, for testing
/// fetchers of vendor services (AMD KDS, Intel PCS, NVIDIA RIM/OCSP) without the network. Records requests.
/// </summary>
internal sealed class LoopbackHttpServer : IDisposable
{
    private readonly HttpListener listener;
    private readonly ConcurrentDictionary<string, byte[]> routes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IReadOnlyDictionary<string, string>> headers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Func<(int Status, byte[] Body)>> responders = new(StringComparer.Ordinal);
    private readonly Task loop;

    public LoopbackHttpServer()
    {
        // HttpListener takes no port 0, so a free port is probed first; between the probe and Start another test of
        // the run can be given the same port by the kernel ("Address already in use", seen in a full run). Another
        // port is then tried.
        for (var attempt = 1; ; attempt++)
        {
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                Port = ((IPEndPoint)probe.LocalEndpoint).Port;
                probe.Stop();
            }

            // A listener whose Start failed is closed for good: each attempt gets a new one.
            var candidate = new HttpListener();
            candidate.Prefixes.Add($"http://127.0.0.1:{Port}/");
            try
            {
                candidate.Start();
                listener = candidate;
                break;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                candidate.Close();
            }
        }

        loop = Task.Run(ServeAsync);
    }

    public int Port { get; }

    public Uri BaseUri => new($"http://127.0.0.1:{Port}/");

    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>Serves <paramref name="body"/> at exactly this path and query (e.g. "/vcek/v1/Milan/ab?blSPL=02").</summary>
    public void Add(string pathAndQuery, byte[] body) => routes[pathAndQuery] = body;

    /// <summary>As <see cref="Add(string, byte[])"/>, with response headers (Intel PCS sends issuer chains in headers).</summary>
    public void Add(string pathAndQuery, byte[] body, IReadOnlyDictionary<string, string> responseHeaders)
    {
        headers[pathAndQuery] = responseHeaders;
        routes[pathAndQuery] = body;
    }

    /// <summary>Answers this path with whatever <paramref name="responder"/> returns at each request (status sequences).</summary>
    public void AddResponder(string pathAndQuery, Func<(int Status, byte[] Body)> responder) => responders[pathAndQuery] = responder;

    public void Dispose()
    {
        if (!listener.IsListening)
        {
            return;
        }

        listener.Stop();
        try
        {
            listener.Close();
        }
        catch (HttpListenerException)
        {
            // Seen once in a full run ("Address already in use" from Close): the managed HttpListener looks its endpoint
            // up again on Close, and after Stop another test may already hold that port. Stop released the socket.
        }
        try
        {
            loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // Stopping the listener ends the loop with an exception by design.
        }
    }

    private async Task ServeAsync()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            var key = context.Request.Url!.PathAndQuery;
            Requests.Enqueue(key);
            if (responders.TryGetValue(key, out var responder))
            {
                var (status, answer) = responder();
                context.Response.StatusCode = status;
                await context.Response.OutputStream.WriteAsync(answer).ConfigureAwait(false);
            }
            else if (routes.TryGetValue(key, out var body))
            {
                context.Response.StatusCode = 200;
                foreach (var (name, value) in headers.TryGetValue(key, out var h) ? h : new Dictionary<string, string>())
                {
                    context.Response.AddHeader(name, value);
                }

                await context.Response.OutputStream.WriteAsync(body).ConfigureAwait(false);
            }
            else
            {
                context.Response.StatusCode = 404;
            }

            context.Response.Close();
        }
    }
}
