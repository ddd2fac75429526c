using System.Net;
using System.Security.Cryptography;
using System.Text;
using Polly;
using Veil.Sealing;

namespace Veil.Guest;

/// <summary>
/// Gets the key-encryption key through the Confidential Containers guest's confidential-data-hub (CDH) REST API,
/// <c>GET /cdh/resource/&lt;repo&gt;/&lt;type&gt;/&lt;tag&gt;</c> on the VM's loopback. There the guest's own attestation agent
/// collects the evidence and does the KBS handshake with the broker (Veil's or any KBS), which is the only way a
/// container in a Kata CoCo pod reaches attestation: it sees neither configfs-tsm nor /dev/sev-guest.
/// The API answers the plaintext key over plain HTTP, so only a loopback address is accepted. CDH is often still
/// starting when the pod's first container runs, so connection failures and 5xx answers are retried with backoff.
/// </summary>
public sealed class CdhKeyProvider : IKeyProvider
{
    public const string DefaultUrl = "http://127.0.0.1:8006";
    private const string Source = "cdh";
    private const int MaxErrorBody = 2048;

    private readonly HttpClient http;
    private readonly ResiliencePipeline retry;

    /// <param name="http">A client whose <see cref="HttpClient.BaseAddress"/> is the CDH API (see <see cref="CheckUrl"/>).</param>
    public CdhKeyProvider(HttpClient http, int maxRetries = 5, TimeSpan? firstDelay = null)
    {
        this.http = http;
        retry = GuestRetries.Build(maxRetries, firstDelay ?? TimeSpan.FromSeconds(1), p => p.Handle<RetryableAnswer>());
    }

    /// <summary>
    /// A client for the CDH API that never uses a proxy: the key is answered in plaintext and must not leave the VM,
    /// whatever HTTP_PROXY the pod's environment sets.
    /// </summary>
    public static HttpClient CreateHttpClient(Uri cdhBase) =>
        new(new SocketsHttpHandler { UseProxy = false }, disposeHandler: true) { BaseAddress = cdhBase, Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>How many requests were made (diagnostics and tests of the retry policy).</summary>
    public int Attempts { get; private set; }

    /// <summary>The CDH base URL, refused unless it is http(s) on a loopback address: the key travels unencrypted.</summary>
    public static Uri CheckUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            throw new AttesterException(Source, $"--cdh: '{url}' is not an http:// URL of the confidential-data-hub API");
        }

        var host = uri.Host.Trim('[', ']');
        var loopback = host == "localhost" || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
        if (!loopback)
        {
            throw new AttesterException(Source, $"--cdh: '{url}' is not a loopback address; the CDH API answers keys in plaintext, so it must not leave the VM");
        }

        return new Uri(uri.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/");
    }

    public async Task<KeyEncryptionKey> GetKeyAsync(string keyId, CancellationToken cancellationToken)
    {
        var parts = keyId.Split('/');
        if (parts.Length != 3 || parts.Any(p => p.Length == 0 || p is "." or ".."))
        {
            throw new AttesterException(Source, $"key id '{keyId}' is not a resource path repo/type/tag");
        }

        var path = "cdh/resource/" + string.Join('/', parts.Select(Uri.EscapeDataString));
        try
        {
            return await retry.ExecuteAsync(ct => new ValueTask<KeyEncryptionKey>(FetchAsync(path, keyId, ct)), cancellationToken).ConfigureAwait(false);
        }
        catch (RetryableAnswer e)
        {
            throw new AttesterException(Source, e.Message);
        }
        catch (HttpRequestException e)
        {
            throw new AttesterException(Source, $"GET {http.BaseAddress}{path}: {e.HttpRequestError} ({Attempts} attempts); is the guest's confidential-data-hub running?");
        }
    }

    private async Task<KeyEncryptionKey> FetchAsync(string path, string keyId, CancellationToken ct)
    {
        Attempts++;
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            // CDH's error text says why (attestation refused, resource missing); it carries no key material.
            var detail = await ErrorTextAsync(response, ct).ConfigureAwait(false);
            var message = $"GET {http.BaseAddress}{path} answered {(int)response.StatusCode}: {detail}";
            if ((int)response.StatusCode >= 500)
            {
                throw new RetryableAnswer(message);
            }

            throw new AttesterException(Source, message);
        }

        var value = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        try
        {
            if (value.Length != KeyEncryptionKey.Size)
            {
                throw new AttesterException(Source, $"resource '{keyId}' holds {value.Length} bytes; a key-encryption key is {KeyEncryptionKey.Size}");
            }

            return new KeyEncryptionKey(value);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(value);
        }
    }

    private static async Task<string> ErrorTextAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var bytes = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        var text = Encoding.UTF8.GetString(bytes, 0, Math.Min(bytes.Length, MaxErrorBody)).Trim();
        var printable = new string([.. text.Select(c => char.IsControl(c) ? ' ' : c)]);
        return printable.Length == 0 ? response.ReasonPhrase ?? "(no detail)" : printable;
    }

    /// <summary>A 5xx answer: CDH may still be starting, or its handshake with the broker failed for a moment.</summary>
    private sealed class RetryableAnswer(string message) : Exception(message);
}
