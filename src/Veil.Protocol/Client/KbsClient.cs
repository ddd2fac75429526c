using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Veil.Protocol.Jose;
using Veil.Protocol.Messages;

namespace Veil.Protocol.Client;

/// <summary>
/// A minimal RCAR client (auth → attest → resource) over an <see cref="HttpClient"/> whose handler keeps cookies
/// (the <c>kbs-session-id</c> session). Refusals become <see cref="KbsClientException"/> with the broker's reason.
/// </summary>
public sealed class KbsClient(HttpClient http)
{
    public static HttpClient CreateHttpClient(Uri broker, bool allowUntrustedCertificate = false)
    {
        var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true };
        if (allowUntrustedCertificate)
        {
#pragma warning disable CA5400 // test-only escape hatch, never the default
            handler.ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator;
#pragma warning restore CA5400
        }

        return new HttpClient(handler, disposeHandler: true) { BaseAddress = broker, Timeout = TimeSpan.FromSeconds(30) };
    }

    public async Task<KbsChallenge> AuthAsync(string tee, CancellationToken ct = default)
    {
        using var body = JsonContent(new KbsRequest(tee, ExtraParams()).ToUtf8());
        using var response = await http.PostAsync(new Uri("kbs/v0/auth", UriKind.Relative), body, ct).ConfigureAwait(false);
        return KbsChallenge.Parse(await ReadOkAsync(response, ct).ConfigureAwait(false));
    }

    public async Task<string> AttestAsync(KbsAttestation attestation, CancellationToken ct = default)
    {
        using var body = JsonContent(attestation.ToUtf8());
        using var response = await http.PostAsync(new Uri("kbs/v0/attest", UriKind.Relative), body, ct).ConfigureAwait(false);
        return AttestResponse.ParseToken(await ReadOkAsync(response, ct).ConfigureAwait(false));
    }

    /// <summary>GETs a resource as JWE, with the session cookie, or with <paramref name="bearerToken"/> if given.</summary>
    public async Task<FlattenedJwe> GetResourceAsync(string path, string? bearerToken = null, CancellationToken ct = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("kbs/v0/resource/" + path, UriKind.Relative));
        if (bearerToken is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearerToken);
        }

        using var response = await http.SendAsync(request, ct).ConfigureAwait(false);
        return FlattenedJwe.Parse(await ReadOkAsync(response, ct).ConfigureAwait(false));
    }

    /// <summary>The whole handshake with the sample TEE: returns the decrypted resource.</summary>
    public async Task<byte[]> GetWithSampleTeeAsync(string path, TeeKey key, CancellationToken ct = default)
    {
        var challenge = await AuthAsync("sample", ct).ConfigureAwait(false);
        var evidence = SampleAttester.Evidence(challenge.Nonce, key.PublicJson);
        await AttestAsync(new KbsAttestation(new RuntimeData(challenge.Nonce, key.PublicJson), new TeeEvidence(evidence, "")), ct).ConfigureAwait(false);
        return key.Decrypt(await GetResourceAsync(path, ct: ct).ConfigureAwait(false));
    }

    internal static async Task<byte[]> ReadOkAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var bytes = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            return bytes;
        }

        var kind = response.ReasonPhrase ?? "Error";
        var detail = "(no detail)";
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            if (doc.RootElement.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String)
            {
                kind = t.GetString()!.Split('/')[^1];
            }

            if (doc.RootElement.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String)
            {
                detail = d.GetString()!;
            }
        }
        catch (JsonException)
        {
            // Not a problem document: keep the status line.
        }

        throw new KbsClientException((int)response.StatusCode, kind, detail);
    }

    private static JsonElement ExtraParams()
    {
        using var doc = JsonDocument.Parse("{\"supported-hash-algorithms\":[\"sha384\"]}");
        return doc.RootElement.Clone();
    }

    private static ByteArrayContent JsonContent(byte[] body)
    {
        var c = new ByteArrayContent(body);
        c.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return c;
    }
}
