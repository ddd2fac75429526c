using System.Net.Http.Headers;
using System.Security.Cryptography;
using Veil.Guest;
using Veil.Protocol.Client;
using Veil.Sealing;

namespace Veil.Cli.Commands;

/// <summary>The broker side of seal/unseal: storing a new key-encryption key as a resource, and the agent's evidence choice.</summary>
internal static class SealBroker
{
    public static Uri BrokerUri(string value)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new CliUsageException($"--broker: '{value}' is not an http(s) URL");
        }

        // Relative KBS paths resolve under the base only when it ends with '/'.
        return uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
    }

    /// <summary>POSTs the key to <c>/kbs/v0/resource/&lt;key id&gt;</c> with the admin bearer token; the key never appears in output.</summary>
    public static async Task PutKeyAsync(Uri broker, string adminTokenFile, string keyId, KeyEncryptionKey kek, CancellationToken ct)
    {
        if (!File.Exists(adminTokenFile))
        {
            throw new CliUsageException($"--admin-token: file not found: {adminTokenFile}");
        }

        var token = (await File.ReadAllTextAsync(adminTokenFile, ct).ConfigureAwait(false)).Trim();
        using var http = KbsClient.CreateHttpClient(broker);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("kbs/v0/resource/" + keyId, UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var bytes = new byte[KeyEncryptionKey.Size];
        try
        {
            kek.CopyTo(bytes);
            request.Content = new ByteArrayContent(bytes);
            using var response = await http.SendAsync(request, ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var detail = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
                throw new KbsClientException((int)response.StatusCode, response.ReasonPhrase ?? "Error", detail.Length > 300 ? detail[..300] : detail);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>Option values are checked before any attester or NVML is touched, so a typo is a usage error everywhere.</summary>
    public static void CheckEvidenceOptions(string tee, string gpu)
    {
        if (tee is not ("auto" or "sample" or "snp" or "tdx" or "az-snp-vtpm" or "az-tdx-vtpm"))
        {
            throw new CliUsageException($"--tee: '{tee}' is not one of auto, sample, snp, tdx, az-snp-vtpm, az-tdx-vtpm");
        }

        if (gpu is not ("auto" or "off" or "required"))
        {
            throw new CliUsageException($"--gpu: '{gpu}' is not one of auto, off, required");
        }
    }

    /// <summary>The agent's evidence for <c>--tee</c>: sample, or SNP/TDX from the CPU attester this VM offers.</summary>
    public static IEvidenceProvider Evidence(string tee) => AttesterDetection.Evidence(tee);

    /// <summary>The GPUs whose evidence goes into <c>additional_evidence</c> for <c>--gpu</c>; null when none.</summary>
    public static NvidiaEvidenceProvider? Gpus(string gpu) => NvidiaEvidenceProvider.Open(gpu);
}
