using System.Net;
using System.Net.Sockets;

namespace Veil.Connect.Tests;

/// <summary>
/// A TCP relay on 127.0.0.1 that counts every byte its clients send (in front of the upstream: what reached it) and
/// whose target can be switched, with <see cref="DropAll"/> closing the connections it carries.
/// </summary>
internal sealed class TcpRelay : IDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly List<TcpClient> open = [];
    private readonly CancellationTokenSource stop = new();
    private long bytesIn;

    public TcpRelay(IPEndPoint target)
    {
        Target = target;
        listener.Start();
        _ = AcceptAsync();
    }

    public IPEndPoint Target { get; set; }

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    /// <summary>Bytes received from clients (i.e. forwarded towards the target).</summary>
    public long BytesIn => Interlocked.Read(ref bytesIn);

    public long Connections { get; private set; }

    public void DropAll()
    {
        lock (open)
        {
            foreach (var c in open)
            {
                c.Dispose();
            }

            open.Clear();
        }
    }

    private async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            Connections++;
            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        var server = new TcpClient();
        lock (open)
        {
            open.Add(client);
            open.Add(server);
        }

        try
        {
            await server.ConnectAsync(Target, stop.Token);
            var a = client.GetStream();
            var b = server.GetStream();
            await Task.WhenAny(PumpAsync(a, b, count: true), PumpAsync(b, a, count: false));
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        finally
        {
            client.Dispose();
            server.Dispose();
        }
    }

    private async Task PumpAsync(Stream from, Stream to, bool count)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int n;
            while ((n = await from.ReadAsync(buffer, stop.Token)) > 0)
            {
                if (count)
                {
                    Interlocked.Add(ref bytesIn, n);
                }

                await to.WriteAsync(buffer.AsMemory(0, n), stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    public void Dispose()
    {
        stop.Cancel();
        listener.Stop();
        DropAll();
        stop.Dispose();
    }
}
