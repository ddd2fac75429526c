using System.Formats.Asn1;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace Veil.Attestation.Nvidia;

/// <summary>
/// Fetches RIMs from NVIDIA's RIM service (<c>GET {base}/v1/rim/{id}</c> → JSON <c>{"rim": base64(SWID XML or CoRIM), …}</c>,
/// as nvtrust rim/__init__.py fetches them) and OCSP responses from NVIDIA's responder (RFC 6960 POST of a
/// SHA-384 CertID, as nvtrust cc_admin_utils builds it), keeping both in an on-disk cache laid out like
/// <see cref="NvidiaDirectoryCollateral"/>. Base URLs are configurable (a mirror, a test server). Nothing fetched
/// is trusted by being fetched: RIMs and OCSP responses are verified to the pinned NVIDIA roots.
/// RIMs are served from the cache once fetched (they never change); OCSP is asked afresh each time and the
/// cached response is used only when the responder cannot be reached.
/// </summary>
public sealed class NvidiaServiceCollateral(HttpClient http, Uri rimBaseUri, Uri? ocspUri, string cacheDirectory) : INvidiaCollateralSource
{
    public static readonly Uri DefaultRimService = new("https://rim.attestation.nvidia.com/");
    public static readonly Uri DefaultOcspResponder = new("https://ocsp.ndis.nvidia.com/");
    private const int MaxBytes = 4 * 1024 * 1024;

    private readonly Uri rimRoot = rimBaseUri.AbsoluteUri.EndsWith('/') ? rimBaseUri : new Uri(rimBaseUri.AbsoluteUri + "/");
    private readonly NvidiaDirectoryCollateral cache = new(cacheDirectory);

    public static string DefaultCacheDirectory() =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "veil", "nvidia");

    public async ValueTask<IReadOnlyList<NvidiaRimFile>> GetRimsAsync(NvidiaRimRequest request, CancellationToken cancellationToken)
    {
        var cached = await cache.GetRimsAsync(request, cancellationToken).ConfigureAwait(false);
        if (cached.Count > 0)
        {
            return cached;
        }

        var uri = new Uri(rimRoot, "v1/rim/" + Uri.EscapeDataString(NvidiaDirectoryCollateral.SafeName(request.Id)));
        using var response = await http.GetAsync(uri, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return [];
        }

        var body = await Body(response, uri, cancellationToken).ConfigureAwait(false);
        byte[] document;
        try
        {
            using var doc = JsonDocument.Parse(body);
            document = Convert.FromBase64String(doc.RootElement.GetProperty("rim").GetString() ?? "");
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new EvidenceFormatException(uri.ToString(), "not a RIM service answer ({\"rim\": base64}): " + e.Message, e);
        }

        var rim = Rim.RimDocument.Parse(document, uri.ToString());
        AtomicFile.Write(NvidiaDirectoryCollateral.RimPath(cacheDirectory, request.Id, rim.Format), document);
        return [new NvidiaRimFile(uri.ToString(), document)];
    }

    public async ValueTask<byte[]?> GetOcspAsync(NvidiaOcspRequest request, CancellationToken cancellationToken)
    {
        if (ocspUri is null)
        {
            return await cache.GetOcspAsync(request, cancellationToken).ConfigureAwait(false);
        }

        byte[] body;
        try
        {
            using var content = new ByteArrayContent(Request(request.Certificate, request.Issuer));
            content.Headers.ContentType = new MediaTypeHeaderValue("application/ocsp-request");
            using var response = await http.PostAsync(ocspUri, content, cancellationToken).ConfigureAwait(false);
            body = await Body(response, ocspUri, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException)
        {
            // Offline: the last response we saw may still be fresh enough; the verifier checks its dates.
            return await cache.GetOcspAsync(request, cancellationToken).ConfigureAwait(false);
        }

        if (Ocsp.OcspResponse.Names(body, request.Certificate, request.Issuer))
        {
            var name = Convert.ToHexStringLower(SHA256.HashData(request.Issuer.RawDataMemory.Span))[..16] + "_" + request.Certificate.SerialNumber.ToLowerInvariant();
            AtomicFile.Write(Path.Combine(NvidiaDirectoryCollateral.OcspDirectory(cacheDirectory), name + ".der"), body);
        }

        return body;
    }

    /// <summary>An OCSPRequest (RFC 6960 §4.1.1) for one certificate, CertID hashed with SHA-384 as NVIDIA's verifier does.</summary>
    internal static byte[] Request(X509Certificate2 certificate, X509Certificate2 issuer)
    {
        var w = new AsnWriter(AsnEncodingRules.DER);
        using (w.PushSequence())
        using (w.PushSequence())
        using (w.PushSequence())
        using (w.PushSequence())
        using (w.PushSequence())
        {
            using (w.PushSequence())
            {
                w.WriteObjectIdentifier("2.16.840.1.101.3.4.2.2");
                w.WriteNull();
            }

            w.WriteOctetString(SHA384.HashData(issuer.SubjectName.RawData));
            w.WriteOctetString(SHA384.HashData(issuer.PublicKey.EncodedKeyValue.RawData!));
            w.WriteIntegerUnsigned(certificate.SerialNumberBytes.Span);
        }

        return w.Encode();
    }

    private static async Task<byte[]> Body(HttpResponseMessage response, Uri uri, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"NVIDIA service {uri}: HTTP {((int)response.StatusCode).ToString(CultureInfo.InvariantCulture)} {response.ReasonPhrase}");
        }

        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        return body.Length <= MaxBytes ? body : throw new HttpRequestException($"NVIDIA service {uri}: answer of {body.Length} bytes is too large");
    }
}
