using System.Globalization;
using System.Net;

namespace Veil.Attestation.Snp;

/// <summary>
/// Fetches VCEKs and CA chains from AMD's Key Distribution Service (spec #57230; URL forms as go-sev-guest
/// kds/kds.go and microsoft/TEE-Attestation-Verification src/kds.rs) and keeps them in an on-disk cache laid
/// out like <see cref="SnpDirectoryCollateral"/>. The base URL is configurable (a mirror, a test server).
/// Nothing fetched is trusted by being fetched: the verifier checks every certificate against the pinned ARK.
/// </summary>
public sealed class KdsCollateralSource(HttpClient http, Uri baseUri, string cacheDirectory) : ISnpCollateralSource
{
    // Relative paths resolve under the base only when it ends with a slash (a mirror may live below the root).
    private readonly Uri root = baseUri.AbsoluteUri.EndsWith('/') ? baseUri : new Uri(baseUri.AbsoluteUri + "/");

    public static string DefaultCacheDirectory() =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "veil", "kds");

    public static string VcekQuery(SnpProduct product, TcbVersion reportedTcb)
    {
        var t = reportedTcb.Decode(product.Layout());
        var common = $"blSPL={t.Bootloader:D2}&teeSPL={t.Tee:D2}&snpSPL={t.Snp:D2}&ucodeSPL={t.Microcode:D2}";
        return t.Fmc is { } fmc ? $"fmcSPL={fmc:D2}&{common}" : common;
    }

    public async ValueTask<SnpCollateral> GetAsync(SnpCollateralRequest request, CancellationToken cancellationToken)
    {
        var cached = await new SnpDirectoryCollateral(cacheDirectory).GetAsync(request, cancellationToken).ConfigureAwait(false);
        if (cached.HasLeaf || request.Signer == SnpSigningKey.Vlek)
        {
            // VLEKs are issued to cloud providers and not served per chip by KDS: they come with the evidence.
            return cached;
        }

        IEnumerable<SnpProduct> products = request.Product is { } p ? [p] : Enum.GetValues<SnpProduct>();
        foreach (var product in products)
        {
            var hwid = SnpDirectoryCollateral.HwIdHex(product, request.ChipId.Span);
            var leafPath = SnpDirectoryCollateral.LeafPath(cacheDirectory, product, request);
            var leafUri = new Uri(root, $"vcek/v1/{product.Name()}/{hwid}?{VcekQuery(product, request.ReportedTcb)}");
            var leaf = await FetchAsync(leafUri, cancellationToken).ConfigureAwait(false);
            if (leaf is null)
            {
                continue;
            }

            var leafCert = Certificates.LoadOne(leaf, leafUri.ToString());
            var chainPath = SnpDirectoryCollateral.ChainPath(cacheDirectory, product, SnpSigningKey.Vcek);
            if (!File.Exists(chainPath))
            {
                var chainUri = new Uri(root, $"vcek/v1/{product.Name()}/cert_chain");
                var chain = await FetchAsync(chainUri, cancellationToken).ConfigureAwait(false)
                    ?? throw new HttpRequestException($"AMD KDS {chainUri}: not found");
                _ = Certificates.Load(chain, chainUri.ToString());
                AtomicFile.Write(chainPath, chain);
            }

            AtomicFile.Write(leafPath, leafCert.RawData);
            return await new SnpDirectoryCollateral(cacheDirectory).GetAsync(request with { Product = product }, cancellationToken).ConfigureAwait(false);
        }

        return cached;
    }

    /// <summary>Null for 404 (wrong product for this chip); other failures are errors that name the URL.</summary>
    private async Task<byte[]?> FetchAsync(Uri uri, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(uri, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"AMD KDS {uri}: HTTP {((int)response.StatusCode).ToString(CultureInfo.InvariantCulture)} {response.ReasonPhrase}");
        }

        return await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
    }
}
