using System.Net;
using System.Net.Sockets;

namespace Veil.Broker.Tests.Support;

/// <summary>
/// HTTP clients whose connections come from a chosen loopback address (127.0.0.2, 127.0.0.3, …): to the broker they
/// are distinct clients, which is what the per-client caps and rate limits key on.
/// </summary>
internal static class LoopbackClients
{
    public static IPAddress Address(int n) => new([127, 0, 0, (byte)n]);

    public static HttpClient From(Uri broker, IPAddress local, CookieContainer? cookies = null) =>
        new(new SocketsHttpHandler
        {
            UseCookies = true,
            CookieContainer = cookies ?? new CookieContainer(),
            ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(local, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        })
        { BaseAddress = broker };
}
