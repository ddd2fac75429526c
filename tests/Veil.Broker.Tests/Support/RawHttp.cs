using System.Net.Sockets;
using System.Text;

namespace Veil.Broker.Tests.Support;

/// <summary>Sends a request target byte for byte (HttpClient would normalise '..' and encoded slashes away).</summary>
internal static class RawHttp
{
    public static async Task<(int Status, string Body)> SendAsync(Uri broker, string method, string target, string? bearer = null)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(broker.Host, broker.Port);
        await using var stream = tcp.GetStream();
        var auth = bearer is null ? "" : $"Authorization: Bearer {bearer}\r\n";
        var request = $"{method} {target} HTTP/1.1\r\nHost: {broker.Host}:{broker.Port}\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var response = await reader.ReadToEndAsync();
        var status = int.Parse(response.Split(' ', 3)[1], System.Globalization.CultureInfo.InvariantCulture);
        var body = response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        return (status, body);
    }
}
