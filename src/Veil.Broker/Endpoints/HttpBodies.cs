using Microsoft.AspNetCore.Http;

namespace Veil.Broker.Endpoints;

/// <summary>Reads request bodies with a hard size limit.</summary>
internal static class HttpBodies
{
    public const int MaxBytes = 2 * 1024 * 1024;

    /// <summary>
    /// The cap on a KBS auth request ({version, tee, extra-params}: tens of bytes in practice). /auth needs no login,
    /// so a 2 MiB cap there lets anyone make the broker buffer megabytes per request; refused by Content-Length, such a
    /// body is never read.
    /// </summary>
    public const int AuthMaxBytes = 64 * 1024;

    /// <summary>The body, or null when it is larger than <see cref="MaxBytes"/>.</summary>
    public static Task<byte[]?> ReadAsync(HttpRequest request, CancellationToken ct) => ReadAsync(request, MaxBytes, ct);

    /// <summary>
    /// The body, or null when it is larger than <paramref name="maxBytes"/>. A refused body is not drained: the answer
    /// closes the connection, because otherwise Kestrel reads and discards the rest of it to keep the connection alive,
    /// and a client sending megabytes per request then costs the broker that much reading anyway.
    /// </summary>
    public static async Task<byte[]?> ReadAsync(HttpRequest request, int maxBytes, CancellationToken ct)
    {
        if (request.ContentLength > maxBytes)
        {
            return Refuse(request);
        }

        if (request.ContentLength is { } length)
        {
            // Known size: one array of exactly that size, no growing buffer and no final copy (a 2 MiB body costs
            // 2 MiB, not the ~6 MiB of doublings and ToArray, which matters when many arrive at once).
            var body = new byte[length];
            var read = 0;
            while (read < body.Length)
            {
                var got = await request.Body.ReadAsync(body.AsMemory(read), ct).ConfigureAwait(false);
                if (got == 0)
                {
                    return body[..read];
                }

                read += got;
            }

            return body;
        }

        using var ms = new MemoryStream();
        var buffer = new byte[16 * 1024];
        int n;
        while ((n = await request.Body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            if (ms.Length + n > maxBytes)
            {
                return Refuse(request);
            }

            ms.Write(buffer, 0, n);
        }

        return ms.ToArray();
    }

    private static byte[]? Refuse(HttpRequest request)
    {
        request.HttpContext.Response.Headers.Connection = "close";
        return null;
    }

    public static string? BearerToken(HttpRequest request)
    {
        var h = request.Headers.Authorization.ToString();
        return h.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? h[7..].Trim() : null;
    }
}
