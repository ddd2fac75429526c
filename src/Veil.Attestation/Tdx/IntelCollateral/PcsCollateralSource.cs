using System.Globalization;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.Tdx.IntelCollateral;

/// <summary>
/// Fetches DCAP collateral from Intel PCS (https://api.trustedservices.intel.com, PCS API v4) or a PCCS at a
/// configurable base URL, and caches it in the layout of <see cref="TdxDirectoryCollateral"/>
/// (<c>fmspc-&lt;fmspc&gt;-&lt;ca&gt;/</c>), so the cache can be carried to an air-gapped site as it is.
/// Issuer chains arrive URL-encoded in response headers and are stored decoded. Nothing fetched is trusted by
/// being fetched: the verifier checks every signature up to the embedded Intel root, and freshness.
/// A cached set is used until its TCB Info's <c>nextUpdate</c> passes (then re-fetched).
/// </summary>
public sealed class PcsCollateralSource : ITdxCollateralSource
{
    public static readonly Uri IntelPcs = new("https://api.trustedservices.intel.com/");
    public static readonly Uri IntelRootCaCrl = new("https://certificates.trustedservices.intel.com/IntelSGXRootCA.der");

    private readonly HttpClient http;
    private readonly Uri root;
    private readonly Uri rootCaCrl;
    private readonly string cacheDirectory;
    private readonly TimeProvider time;
    private readonly TdxDirectoryCollateral cached;

    /// <param name="rootCaCrlUri">Where the root CA CRL is; default: Intel's certificate site for Intel PCS, else the
    /// PCCS path <c>sgx/certification/v4/rootcacrl</c> under the base URL.</param>
    public PcsCollateralSource(HttpClient http, Uri baseUri, string cacheDirectory, TimeProvider time, Uri? rootCaCrlUri = null)
    {
        this.http = http;
        // Relative paths resolve under the base only when it ends with a slash (a PCCS may live below the root).
        root = baseUri.AbsoluteUri.EndsWith('/') ? baseUri : new Uri(baseUri.AbsoluteUri + "/");
        rootCaCrl = rootCaCrlUri ?? (root.Host == IntelPcs.Host ? IntelRootCaCrl : new Uri(root, "sgx/certification/v4/rootcacrl"));
        this.cacheDirectory = cacheDirectory;
        this.time = time;
        cached = new TdxDirectoryCollateral(cacheDirectory);
    }

    public static string DefaultCacheDirectory() =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "veil", "pcs");

    public async ValueTask<TdxCollateral?> GetAsync(TdxCollateralRequest request, CancellationToken cancellationToken)
    {
        var dir = TdxDirectoryCollateral.SetDirectory(cacheDirectory, request);
        if (File.Exists(Path.Combine(dir, "tcb_info.json"))
            && await cached.GetAsync(request, cancellationToken).ConfigureAwait(false) is { } current
            && current.TcbInfo.NextUpdate >= time.GetUtcNow() && current.QeIdentity.NextUpdate >= time.GetUtcNow())
        {
            return current;
        }

        var fmspc = request.FmspcHex.ToUpperInvariant();
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var (tcb, tcbChain) = await FetchAsync(new Uri(root, $"tdx/certification/v4/tcb?fmspc={fmspc}"), "TCB-Info-Issuer-Chain", cancellationToken).ConfigureAwait(false);
        files["tcb_info.json"] = tcb;
        files["tcb_info_issuer_chain.pem"] = tcbChain!;
        var (qe, qeChain) = await FetchAsync(new Uri(root, "tdx/certification/v4/qe/identity"), "SGX-Enclave-Identity-Issuer-Chain", cancellationToken).ConfigureAwait(false);
        files["qe_identity.json"] = qe;
        files["qe_identity_issuer_chain.pem"] = qeChain!;
        var (crl, crlChain) = await FetchAsync(new Uri(root, $"sgx/certification/v4/pckcrl?ca={request.PckCa}&encoding=der"), "SGX-PCK-CRL-Issuer-Chain", cancellationToken).ConfigureAwait(false);
        files["pck_crl.der"] = crl;
        files["pck_crl_issuer_chain.pem"] = crlChain!;
        (files["root_ca_crl.der"], _) = await FetchAsync(rootCaCrl, null, cancellationToken).ConfigureAwait(false);

        // Write into a fresh directory and swap it in, so a reader never sees half of an old and half of a new set.
        Directory.CreateDirectory(cacheDirectory);
        var staging = dir + "." + Guid.NewGuid().ToString("N") + ".tmp";
        Directory.CreateDirectory(staging);
        foreach (var (name, bytes) in files)
        {
            await File.WriteAllBytesAsync(Path.Combine(staging, name), bytes, cancellationToken).ConfigureAwait(false);
        }

        var loaded = TdxDirectoryCollateral.Load(staging);
        _ = loaded.TcbInfo;
        _ = loaded.QeIdentity;
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }

        Directory.Move(staging, dir);
        return await cached.GetAsync(request, cancellationToken).ConfigureAwait(false);
    }

    private async Task<(byte[] Body, byte[]? Chain)> FetchAsync(Uri uri, string? chainHeader, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(uri, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"Intel PCS {uri}: HTTP {((int)response.StatusCode).ToString(CultureInfo.InvariantCulture)} {response.ReasonPhrase}");
        }

        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (chainHeader is null)
        {
            return (body, null);
        }

        if (!response.Headers.TryGetValues(chainHeader, out var values) || values.FirstOrDefault() is not { Length: > 0 } encoded)
        {
            throw new HttpRequestException($"Intel PCS {uri}: response has no {chainHeader} header");
        }

        // Not WebUtility.UrlDecode: that turns a literal "+" (base64) into a space.
        var pem = Uri.UnescapeDataString(encoded);
        _ = Certificates.Load(System.Text.Encoding.ASCII.GetBytes(pem), $"{uri} {chainHeader}");
        return (body, System.Text.Encoding.ASCII.GetBytes(pem));
    }
}
