using System.Net.Http.Json;
using System.Text.Json;

namespace Veil.Guest;

/// <summary>What the attester needs from Azure's instance metadata service beside the vTPM.</summary>
public interface IAzureImds
{
    /// <summary>The VCEK for this host, DER (THIM: <c>/metadata/THIM/amd/certification</c>).</summary>
    byte[] Vcek();

    /// <summary>A TDX DCAP quote of <paramref name="tdReport"/> (<c>/acc/tdquote</c>).</summary>
    byte[] TdQuote(ReadOnlySpan<byte> tdReport);
}

/// <summary>Azure IMDS over HTTP, at its link-local address in a VM; tests point it at a loopback server.</summary>
public sealed class AzureImds(HttpClient http, Uri? baseUri = null) : IAzureImds
{
    public static readonly Uri DefaultBase = new("http://169.254.169.254/");

    private const int MaxBody = 1 << 20;
    private readonly Uri root = baseUri ?? DefaultBase;

    public byte[] Vcek()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(root, "metadata/THIM/amd/certification"));
        request.Headers.Add("Metadata", "true");
        using var doc = Send(request, "THIM certification");
        var pem = doc.RootElement.TryGetProperty("vcekCert", out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : throw new AttesterException("imds", "THIM certification: no vcekCert");
        try
        {
            using var cert = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(pem);
            return cert.RawData;
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new AttesterException("imds", "THIM certification: vcekCert is not a PEM certificate", e);
        }
    }

    public byte[] TdQuote(ReadOnlySpan<byte> tdReport)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(root, "acc/tdquote"))
        {
            Content = JsonContent.Create(new Dictionary<string, string> { ["report"] = AzureVtpmAttester.Base64Url(tdReport) }),
        };
        using var doc = Send(request, "tdquote");
        var q = doc.RootElement.TryGetProperty("quote", out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : throw new AttesterException("imds", "tdquote: no quote");
        return AzureVtpmAttester.FromBase64Url(q, "imds tdquote.quote");
    }

    private JsonDocument Send(HttpRequestMessage request, string what)
    {
        try
        {
            using var response = http.Send(request, HttpCompletionOption.ResponseHeadersRead);
            if (!response.IsSuccessStatusCode)
            {
                throw new AttesterException("imds", $"{what}: HTTP {(int)response.StatusCode}");
            }

            using var body = response.Content.ReadAsStream();
            var buffer = new MemoryStream();
            body.CopyTo(buffer, 81920);
            return buffer.Length <= MaxBody ? JsonDocument.Parse(buffer.ToArray()) : throw new AttesterException("imds", $"{what}: body over {MaxBody} bytes");
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or TaskCanceledException)
        {
            throw new AttesterException("imds", $"{what}: {e.Message}", e);
        }
    }
}
