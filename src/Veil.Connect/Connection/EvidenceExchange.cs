using System.Globalization;
using System.Text;
using Veil.Protocol.AttestedTls;

namespace Veil.Connect.Connection;

/// <summary>
/// The one HTTP/1.1 exchange made on a fresh TLS connection before it is handed to SocketsHttpHandler: GET the evidence
/// and read exactly its response. Hand-written because the evidence must travel on the very connection that will
/// carry the requests, and SocketsHttpHandler has no hook to issue a request on a connection before pooling it; the
/// parser accepts only what Kestrel sends for this endpoint (status line, headers, Content-Length body) and refuses
/// the rest (chunked, Connection: close, oversized, trailing bytes).
/// </summary>
internal static class EvidenceExchange
{
    private const int MaxHeaderBytes = 16 * 1024;

    public static byte[] Request(string host, int port, byte[] nonce) =>
        Request(host, port, $"/.well-known/veil/attestation?nonce={AttestedTlsBinding.FormatNonce(nonce)}");

    /// <summary>dstack's report takes the nonce as 64 lowercase hex digits (its parse_nonce).</summary>
    public static byte[] DstackRequest(string host, int port, string path, byte[] nonce) =>
        Request(host, port, $"{path}?nonce={Convert.ToHexStringLower(nonce)}");

    private static byte[] Request(string host, int port, string target) => Encoding.ASCII.GetBytes(
        $"GET {target} HTTP/1.1\r\n" +
        string.Create(CultureInfo.InvariantCulture, $"Host: {host}:{port}\r\n") +
        "Accept: application/json\r\nUser-Agent: veil-connect\r\n\r\n");

    /// <summary>The body of a 200 answer; any other answer is an <see cref="EvidenceExchangeException"/> saying why.</summary>
    public static async Task<byte[]> ReadResponseAsync(Stream stream, CancellationToken ct)
    {
        var buffer = new byte[MaxHeaderBytes];
        var filled = 0;
        int headerEnd;
        while ((headerEnd = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (filled == buffer.Length)
            {
                throw new EvidenceExchangeException($"the answer's headers exceed {MaxHeaderBytes} bytes");
            }

            var n = await stream.ReadAsync(buffer.AsMemory(filled), ct).ConfigureAwait(false);
            if (n == 0)
            {
                throw new EvidenceExchangeException("the gateway closed the connection before answering");
            }

            filled += n;
        }

        var lines = Encoding.ASCII.GetString(buffer, 0, headerEnd).Split("\r\n");
        var status = lines[0].Split(' ', 3);
        if (status.Length < 2 || !status[0].StartsWith("HTTP/1.", StringComparison.Ordinal) || !int.TryParse(status[1], NumberStyles.None, CultureInfo.InvariantCulture, out var code))
        {
            throw new EvidenceExchangeException("the answer is not HTTP/1.x");
        }

        long? length = null;
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new EvidenceExchangeException("malformed header line in the answer");
            }

            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                if (length is not null || !long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var l))
                {
                    throw new EvidenceExchangeException("Content-Length: invalid or repeated");
                }

                length = l;
            }
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                throw new EvidenceExchangeException("Transfer-Encoding: the evidence must come with a Content-Length");
            }
            else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase) && value.Contains("close", StringComparison.OrdinalIgnoreCase))
            {
                throw new EvidenceExchangeException($"status {code}, and the gateway closes the connection");
            }
        }

        if (length is not { } bodyLength)
        {
            throw new EvidenceExchangeException($"status {code} without Content-Length");
        }

        if (bodyLength > AttestationDocument.MaxBytes)
        {
            throw new EvidenceExchangeException($"the evidence is {bodyLength} bytes, more than the {AttestationDocument.MaxBytes} accepted");
        }

        var body = new byte[bodyLength];
        var already = filled - (headerEnd + 4);
        if (already > bodyLength)
        {
            throw new EvidenceExchangeException("bytes after the evidence that were not asked for");
        }

        buffer.AsSpan(headerEnd + 4, already).CopyTo(body);
        await stream.ReadExactlyAsync(body.AsMemory(already), ct).ConfigureAwait(false);
        if (code != 200)
        {
            throw new EvidenceExchangeException($"status {code}: {Printable(body)}");
        }

        return body;
    }

    /// <summary>A refusal's body, as a short single line: it is the gateway's text, shown to the local user only.</summary>
    private static string Printable(byte[] body)
    {
        var text = Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 300));
        return new string(text.Select(c => char.IsControl(c) ? ' ' : c).ToArray());
    }
}

/// <summary>The evidence exchange did not produce a document.</summary>
internal sealed class EvidenceExchangeException(string message) : Exception(message)
{
}
