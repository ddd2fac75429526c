using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Veil.Broker.Tests.Support;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>
/// Issue 16's unauthenticated attacks, each against a real broker: what the answer says (status, kind, size), what
/// /metrics holds afterwards, and that nothing logs a stack trace.
/// </summary>
public sealed class HostileInputTests
{
    private static StringContent Json(string s) => new(s, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Megabyte_tee_strings_are_refused_by_size_unknown_names_echo_short_and_none_becomes_a_metric_series()
    {
        await using var broker = await TestBroker.StartAsync(allowSample: true);
        using var http = broker.NewHttpClient();
        // Megabyte tees are refused by the auth body cap, before the body is read.
        for (var i = 0; i < 5; i++)
        {
            var tee = i + new string('y', 1_900_000);
            using var r = await http.PostAsync(new Uri("kbs/v0/auth", UriKind.Relative), Json(JsonSerializer.Serialize(new Dictionary<string, string> { ["version"] = "0.4.0", ["tee"] = tee, ["extra-params"] = "" })));
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode);
            var body = await r.Content.ReadAsStringAsync();
            Assert.True(body.Length < 1024, $"answer of {body.Length} chars");
            using var doc = JsonDocument.Parse(body);
            Assert.Equal("PayloadTooLarge", doc.RootElement.GetProperty("title").GetString());
            Assert.Equal("auth request body exceeds 65536 bytes", doc.RootElement.GetProperty("detail").GetString());
        }

        // Within the cap, a tee longer than any valid name is refused by its size before a string is made.
        using (var r = await http.PostAsync(new Uri("kbs/v0/auth", UriKind.Relative), Json(JsonSerializer.Serialize(new Dictionary<string, string> { ["version"] = "0.4.0", ["tee"] = "1" + new string('y', 60_000), ["extra-params"] = "" }))))
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            var body = await r.Content.ReadAsStringAsync();
            Assert.True(body.Length < 1024, $"answer of {body.Length} chars");
            using var doc = JsonDocument.Parse(body);
            Assert.Equal("InvalidRequest", doc.RootElement.GetProperty("title").GetString());
            Assert.Equal("request tee: 60001 bytes long, more than the 64 any valid value has", doc.RootElement.GetProperty("detail").GetString());
        }

        // An unknown name within the size is echoed as a short prefix, with its length.
        using (var r = await http.PostAsync(new Uri("kbs/v0/auth", UriKind.Relative), Json($"{{\"version\":\"0.4.0\",\"tee\":\"{new string('z', 60)}\",\"extra-params\":\"\"}}")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
            using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
            Assert.Equal("UnknownTee", doc.RootElement.GetProperty("title").GetString());
            Assert.StartsWith($"unknown TEE '{new string('z', 32)}…(60 chars)' (known: ", doc.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        // A control character in the tee is escaped, not echoed (no forged log lines or headers).
        using (var r = await http.PostAsync(new Uri("kbs/v0/auth", UriKind.Relative), Json("{\"version\":\"0.4.0\",\"tee\":\"a\\nb\",\"extra-params\":\"\"}")))
        {
            Assert.Contains("a\\\\u000ab", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // A long version is refused by its size too.
        using (var r = await http.PostAsync(new Uri("kbs/v0/auth", UriKind.Relative), Json($"{{\"version\":\"{new string('9', 60_000)}\",\"tee\":\"sample\",\"extra-params\":\"\"}}")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.True((await r.Content.ReadAsStringAsync()).Length < 1024);
        }

        // A wrong version within the size is echoed short.
        using (var r = await http.PostAsync(new Uri("kbs/v0/auth", UriKind.Relative), Json($"{{\"version\":\"{new string('9', 60)}\",\"tee\":\"sample\",\"extra-params\":\"\"}}")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
            Assert.Contains("(60 chars)", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.True(metrics.Length < 64 * 1024, $"/metrics is {metrics.Length} chars");
        Assert.DoesNotContain("yyyy", metrics, StringComparison.Ordinal);
        Assert.Contains("veil_attestations_total{tee=\"other\",outcome=\"refused\"} 2", metrics, StringComparison.Ordinal);
        foreach (var line in metrics.Split('\n').Where(l => l.StartsWith("veil_attestations_total{", StringComparison.Ordinal)))
        {
            var tee = line.Split('"')[1];
            Assert.True(tee == "other" || Veil.Abi.Tee.TeeNames.Known.Contains(tee), line);
        }
    }

    [Fact]
    public async Task Oversized_chunked_slow_and_badly_framed_bodies_are_4xx_problems_without_a_stack_trace()
    {
        var logStart = LogCapture.Shared.Lines.Count;
        await using var broker = await TestBroker.StartAsync(allowSample: true, customize: b =>
            b.WebHost.ConfigureKestrel(k => k.Limits.MinRequestBodyDataRate = new MinDataRate(240, TimeSpan.FromSeconds(2))));

        // 10 MB in 64 KiB chunks to /attest (the auth cap is 64 KiB, so Kestrel's 2 MiB limit is met there), in a session.
        string cookie;
        using (var auth = broker.NewHttpClient())
        using (var r = await auth.PostAsync(new Uri("kbs/v0/auth", UriKind.Relative), Json("{\"version\":\"0.4.0\",\"tee\":\"sample\",\"extra-params\":\"\"}")))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            cookie = r.Headers.GetValues("Set-Cookie").First().Split(';')[0];
        }

        var (status, type, body) = await SendChunkedAsync(broker.Url, "/kbs/v0/attest", cookie, Enumerable.Repeat(new string('x', 65536), 160));
        Assert.Equal(413, status);
        Assert.Equal("application/problem+json", type);
        Assert.Contains("\"title\":\"PayloadTooLarge\"", body, StringComparison.Ordinal);

        // A chunk size that is not hex.
        (status, type, body) = await SendRawAsync(broker.Url, "POST /kbs/v0/auth HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n");
        Assert.Equal(400, status);
        Assert.Equal("application/problem+json", type);
        Assert.Contains("\"title\":\"InvalidRequest\"", body, StringComparison.Ordinal);

        // A body that trickles: 10 of 60000 announced bytes (within the auth body cap), then nothing.
        (status, type, body) = await SendRawAsync(broker.Url, "POST /kbs/v0/auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{\"version\"", keepOpen: TimeSpan.FromSeconds(30));
        Assert.Equal(408, status);
        Assert.Equal("application/problem+json", type);
        Assert.Contains("\"title\":\"RequestTimeout\"", body, StringComparison.Ordinal);

        // A body cut short by the client going away: no answer possible, and nothing to log as an error.
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(broker.Url.Host, broker.Url.Port);
            var s = tcp.GetStream();
            await s.WriteAsync(Encoding.ASCII.GetBytes("POST /kbs/v0/auth HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{\"ver"));
            await Task.Delay(200);
        }

        // The broker still serves.
        using var http = broker.NewHttpClient();
        Assert.Equal("ok\n", await http.GetStringAsync(new Uri("/healthz", UriKind.Relative)));
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("veil_bad_requests_total{status=\"413\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("veil_bad_requests_total{status=\"408\"} 1", metrics, StringComparison.Ordinal);
        await Task.Delay(300);

        var lines = LogCapture.Shared.Lines.Skip(logStart).ToList();
        Assert.DoesNotContain(lines, l => l.Contains("   at ", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Critical", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("bad request 413 on attest", StringComparison.Ordinal));
    }

    private static async Task<(int Status, string? ContentType, string Body)> SendChunkedAsync(Uri broker, string path, string cookie, IEnumerable<string> chunks)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(broker.Host, broker.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST {path} HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"));
        var reading = ReadResponseAsync(stream);
        try
        {
            foreach (var c in chunks)
            {
                if (reading.IsCompleted)
                {
                    break;
                }

                await stream.WriteAsync(Encoding.ASCII.GetBytes($"{c.Length:x}\r\n{c}\r\n"));
            }
        }
        catch (IOException)
        {
            // The broker answered and closed while we were still sending: that is the point.
        }

        return await reading;
    }

    private static async Task<(int Status, string? ContentType, string Body)> SendRawAsync(Uri broker, string request, TimeSpan? keepOpen = null)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(broker.Host, broker.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        return await ReadResponseAsync(stream).WaitAsync(keepOpen ?? TimeSpan.FromSeconds(30));
    }

    /// <summary>Reads one response (headers and a Content-Length body).</summary>
    private static async Task<(int Status, string? ContentType, string Body)> ReadResponseAsync(NetworkStream stream)
    {
        var buffer = new List<byte>();
        var chunk = new byte[8192];
        int headerEnd;
        while ((headerEnd = IndexOf(buffer, "\r\n\r\n"u8)) < 0)
        {
            var n = await stream.ReadAsync(chunk);
            if (n == 0)
            {
                throw new IOException("connection closed before a response: " + Encoding.ASCII.GetString([.. buffer]));
            }

            buffer.AddRange(chunk.AsSpan(0, n));
        }

        var head = Encoding.ASCII.GetString(buffer.GetRange(0, headerEnd).ToArray()).Split("\r\n");
        var status = int.Parse(head[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        string? Header(string name) => head.Skip(1).Select(h => h.Split(':', 2)).Where(h => h[0].Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h[1].Trim()).FirstOrDefault();
        var chunked = string.Equals(Header("Transfer-Encoding"), "chunked", StringComparison.OrdinalIgnoreCase);
        var length = int.Parse(Header("Content-Length") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
        bool Complete() => chunked
            ? IndexOf(buffer.GetRange(headerEnd + 4, buffer.Count - headerEnd - 4), "0\r\n\r\n"u8) >= 0
            : buffer.Count >= headerEnd + 4 + length;
        while (!Complete())
        {
            var n = await stream.ReadAsync(chunk);
            if (n == 0)
            {
                break;
            }

            buffer.AddRange(chunk.AsSpan(0, n));
        }

        var raw = Encoding.UTF8.GetString(buffer.GetRange(headerEnd + 4, buffer.Count - headerEnd - 4).ToArray());
        var body = chunked ? Dechunk(raw) : raw[..Math.Min(length, raw.Length)];
        return (status, Header("Content-Type")?.Split(';')[0], body);
    }

    private static string Dechunk(string raw)
    {
        var sb = new StringBuilder();
        var pos = 0;
        while (pos < raw.Length)
        {
            var eol = raw.IndexOf("\r\n", pos, StringComparison.Ordinal);
            var size = Convert.ToInt32(raw[pos..eol], 16);
            if (size == 0)
            {
                break;
            }

            sb.Append(raw, eol + 2, size);
            pos = eol + 2 + size + 2;
        }

        return sb.ToString();
    }

    private static int IndexOf(List<byte> haystack, ReadOnlySpan<byte> needle)
    {
        for (var i = 0; i + needle.Length <= haystack.Count; i++)
        {
            var match = true;
            for (var j = 0; j < needle.Length && match; j++)
            {
                match = haystack[i + j] == needle[j];
            }

            if (match)
            {
                return i;
            }
        }

        return -1;
    }
}
