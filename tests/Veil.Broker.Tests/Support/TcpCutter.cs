using System.Net;
using System.Net.Sockets;

namespace Veil.Broker.Tests.Support;

/// <summary>
/// A loopback TCP relay in front of the test PostgreSQL: <see cref="Cut"/> drops every connection and refuses new
/// ones (the network to the store is gone), <see cref="Restore"/> listens again on the same port. The lowest layer
/// faked, so the store outage hits only the broker under test, not the shared cluster.
/// </summary>
internal sealed class TcpCutter : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly List<TcpClient> _open = [];
    private readonly Lock _gate = new();
    private TcpListener _listener;
    private CancellationTokenSource _cts = new();
    private Task _accepting;

    public TcpCutter(int targetPort)
    {
        _target = new IPEndPoint(IPAddress.Loopback, targetPort);
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync(_listener, _cts.Token);
    }

    public int Port { get; }

    public void Cut()
    {
        _cts.Cancel();
        _listener.Stop();
        lock (_gate)
        {
            foreach (var c in _open)
            {
                try
                {
                    if (c.Client is { } socket)
                    {
                        socket.LingerState = new LingerOption(true, 0); // RST, as a dead network path ends up
                    }
                }
                catch (Exception e) when (e is ObjectDisposedException or SocketException)
                {
                    // the relay already closed this one
                }

                c.Dispose();
            }

            _open.Clear();
        }
    }

    public void Restore()
    {
        _cts = new CancellationTokenSource();
        _listener = new TcpListener(IPAddress.Loopback, Port);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start();
        _accepting = AcceptAsync(_listener, _cts.Token);
    }

    public async ValueTask DisposeAsync()
    {
        Cut();
        try
        {
            await _accepting;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _cts.Dispose();
    }

    private async Task AcceptAsync(TcpListener listener, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            TcpClient inbound;
            try
            {
                inbound = await listener.AcceptTcpClientAsync(ct);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            var outbound = new TcpClient();
            try
            {
                await outbound.ConnectAsync(_target, ct);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException)
            {
                inbound.Dispose();
                outbound.Dispose();
                continue;
            }

            lock (_gate)
            {
                _open.Add(inbound);
                _open.Add(outbound);
            }

            _ = PumpAsync(inbound, outbound, ct);
            _ = PumpAsync(outbound, inbound, ct);
        }
    }

    private static async Task PumpAsync(TcpClient from, TcpClient to, CancellationToken ct)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            var src = from.GetStream();
            var dst = to.GetStream();
            while (true)
            {
                var n = await src.ReadAsync(buffer, ct);
                if (n == 0)
                {
                    break;
                }

                await dst.WriteAsync(buffer.AsMemory(0, n), ct);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException or InvalidOperationException)
        {
        }

        from.Dispose();
        to.Dispose();
    }
}
