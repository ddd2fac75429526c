using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.Tdx.IntelCollateral;

/// <summary>
/// An offline collateral directory of Intel PCS response bodies, as an air-gapped site keeps them:
/// <code>
/// tcb_info.json                 GET /tdx/certification/v4/tcb?fmspc=… body ({"tcbInfo":{…},"signature":"…"})
/// tcb_info_issuer_chain.pem     its TCB-Info-Issuer-Chain header (URL-decoded PEM)
/// qe_identity.json              GET /tdx/certification/v4/qe/identity body
/// qe_identity_issuer_chain.pem  its SGX-Enclave-Identity-Issuer-Chain header
/// pck_crl.der                   GET /sgx/certification/v4/pckcrl?ca=platform|processor (DER, PEM or hex)
/// pck_crl_issuer_chain.pem      its SGX-PCK-CRL-Issuer-Chain header
/// root_ca_crl.der               IntelSGXRootCA.der (DER, PEM or hex)
/// </code>
/// The files may sit at the top of the directory (one platform) or in <c>fmspc-&lt;fmspc&gt;-&lt;ca&gt;/</c>
/// sub-directories, which is how <see cref="PcsCollateralSource"/> caches several platforms.
/// </summary>
public sealed class TdxDirectoryCollateral(string root) : ITdxCollateralSource
{
    public static readonly string[] FileNames =
    [
        "tcb_info.json", "tcb_info_issuer_chain.pem", "qe_identity.json", "qe_identity_issuer_chain.pem",
        "pck_crl.der", "pck_crl_issuer_chain.pem", "root_ca_crl.der",
    ];

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string Stamp, TdxCollateral Collateral)> loaded = new(StringComparer.Ordinal);

    public string Root { get; } = root;

    public static string SetDirectory(string root, TdxCollateralRequest request) =>
        Path.Combine(root, $"fmspc-{request.FmspcHex}-{request.PckCa}");

    public ValueTask<TdxCollateral?> GetAsync(TdxCollateralRequest request, CancellationToken cancellationToken)
    {
        var perPlatform = SetDirectory(Root, request);
        var dir = File.Exists(Path.Combine(perPlatform, "tcb_info.json")) ? perPlatform : Root;
        if (!File.Exists(Path.Combine(dir, "tcb_info.json")))
        {
            return ValueTask.FromResult<TdxCollateral?>(null);
        }

        // The same instance while the files are unchanged, so the verifier checks their signatures once.
        var stamp = string.Join('|', FileNames.Select(n => File.GetLastWriteTimeUtc(Path.Combine(dir, n)).Ticks));
        if (loaded.TryGetValue(dir, out var entry) && entry.Stamp == stamp)
        {
            return ValueTask.FromResult<TdxCollateral?>(entry.Collateral);
        }

        var collateral = Load(dir);
        loaded[dir] = (stamp, collateral);
        return ValueTask.FromResult<TdxCollateral?>(collateral);
    }

    /// <summary>Reads a complete set; a missing or malformed file is an error naming the file.</summary>
    public static TdxCollateral Load(string dir)
    {
        byte[] Read(string name)
        {
            var path = Path.Combine(dir, name);
            return File.Exists(path) ? File.ReadAllBytes(path) : throw new EvidenceFormatException(path, "missing from the collateral directory");
        }

        return new TdxCollateral(
            SignedJson.FromPcsBody(Read("tcb_info.json"), "tcbInfo", Path.Combine(dir, "tcb_info.json")),
            Certificates.Load(Read("tcb_info_issuer_chain.pem"), Path.Combine(dir, "tcb_info_issuer_chain.pem")),
            SignedJson.FromPcsBody(Read("qe_identity.json"), "enclaveIdentity", Path.Combine(dir, "qe_identity.json")),
            Certificates.Load(Read("qe_identity_issuer_chain.pem"), Path.Combine(dir, "qe_identity_issuer_chain.pem")),
            Read("pck_crl.der"),
            Certificates.Load(Read("pck_crl_issuer_chain.pem"), Path.Combine(dir, "pck_crl_issuer_chain.pem")),
            Read("root_ca_crl.der"));
    }
}
