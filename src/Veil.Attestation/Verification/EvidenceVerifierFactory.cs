using Veil.Abi.Tee;
using Veil.Attestation.AzureVtpm;
using Veil.Attestation.Sample;
using Veil.Attestation.Nvidia;
using Veil.Attestation.Snp;
using Veil.Attestation.Tdx;
using Veil.Attestation.Tdx.Checks;
using Veil.Attestation.Tdx.IntelCollateral;

namespace Veil.Attestation.Verification;

/// <summary>
/// Builds every TEE's <see cref="IEvidenceVerifier"/> from one <see cref="CollateralOptions"/>: the single place that
/// turns collateral settings into sources, shared by <c>veil verify</c>, <c>veil appraise</c> and the broker. A new
/// TEE is its own folder plus one line in <see cref="Registrations"/>. Each verifier is built once (the SNP chain
/// cache and the fetchers' caches live in it) and reused.
/// </summary>
public sealed class EvidenceVerifierFactory
{
    private readonly CollateralOptions _options;
    private readonly Dictionary<string, Lazy<IEvidenceVerifier>> _verifiers;

    /// <exception cref="ArgumentException">A service URL without an <see cref="CollateralOptions.Http"/> client, or conflicting TDX collateral.</exception>
    public EvidenceVerifierFactory(CollateralOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Http is null && (options.KdsUrl ?? options.PcsUrl ?? options.RimServiceUrl) is not null)
        {
            throw new ArgumentException("a collateral service URL needs CollateralOptions.Http", nameof(options));
        }

        if (options.TdxCollateral is not null && (options.TdxCollateralDir is not null || options.PcsUrl is not null))
        {
            throw new ArgumentException("fixed TDX collateral excludes a collateral directory and PCS", nameof(options));
        }

        if (options.OcspResponder is not null && options.RimServiceUrl is null)
        {
            throw new ArgumentException("an OCSP responder needs the RIM service (the fetcher that caches its answers)", nameof(options));
        }

        _options = options;
        _verifiers = Registrations().ToDictionary(r => r.Tee, r => new Lazy<IEvidenceVerifier>(() => r.Build(this)), StringComparer.Ordinal);
    }

    /// <summary>The TEEs this factory has a verifier for.</summary>
    public IReadOnlyCollection<string> Tees => _verifiers.Keys;

    /// <summary>
    /// Why a TEE cannot reach a verdict with these options (unknown to Veil, the sample TEE not allowed, no Intel or
    /// NVIDIA collateral), or null. A broker refuses such a TEE up front; the CLI verifies anyway and names the
    /// missing collateral among the failures.
    /// </summary>
    public string? Unavailable(string tee) => tee switch
    {
        _ when !_verifiers.ContainsKey(tee) => $"no verifier for TEE '{tee}' (verified: {string.Join(", ", _verifiers.Keys.Order(StringComparer.Ordinal))})",
        TeeNames.Sample when !_options.AllowSample => "the sample TEE proves nothing and is not allowed here",
        TeeNames.Tdx or TeeNames.AzTdxVtpm when !_options.HasTdxCollateral && !_options.TdxWithoutCollateral =>
            $"{tee} needs Intel collateral (a collateral file, a directory of PCS bodies, or a PCS URL)",
        TeeNames.Nvidia when !_options.HasNvidiaCollateral => "nvidia needs reference manifests (RIM files, a collateral directory, or the RIM service)",
        _ => null,
    };

    /// <exception cref="ArgumentException">No verifier for <paramref name="tee"/>.</exception>
    public IEvidenceVerifier Create(string tee) =>
        _verifiers.TryGetValue(tee, out var v) ? v.Value : throw new ArgumentException(Unavailable(tee), nameof(tee));

    /// <summary>One line per TEE: its name and how it is built from the shared sources.</summary>
    private static IEnumerable<(string Tee, Func<EvidenceVerifierFactory, IEvidenceVerifier> Build)> Registrations() =>
    [
        (TeeNames.Sample, _ => new SampleContractVerifier()),
        (TeeNames.Snp, f => new SnpContractVerifier(new SnpVerifier(f.SnpSources(), f._options.Time))),
        (TeeNames.Tdx, f => new TdxContractVerifier(new TdxVerifier(f.TdxSource(), f._options.Time, f.TdxOptions()))),
        (TeeNames.Nvidia, f => new NvidiaContractVerifier(new NvidiaVerifier(f.NvidiaSources(), f._options.Time))),
        (TeeNames.AzSnpVtpm, f => new AzureVtpmContractVerifier(TeeNames.AzSnpVtpm, new AzSnpVtpmVerifier(f.SnpSources(), f._options.Time).VerifyAsync)),
        (TeeNames.AzTdxVtpm, f => new AzureVtpmContractVerifier(TeeNames.AzTdxVtpm, new AzTdxVtpmVerifier(f.TdxSource(), f._options.Time, f.TdxOptions()).VerifyAsync)),
    ];

    private ISnpCollateralSource SnpSources()
    {
        var o = _options;
        var sources = new List<ISnpCollateralSource> { SnpCollateralSources.Files(o.SnpSigningCertificate, o.SnpCertificateChain), SnpCollateralSources.Evidence() };
        if (o.SnpCollateralDir is { } dir)
        {
            sources.Add(new SnpDirectoryCollateral(dir));
        }

        if (o.KdsUrl is { } kds)
        {
            sources.Add(new KdsCollateralSource(o.Http!, kds, o.SnpCollateralDir ?? Cache("snp") ?? KdsCollateralSource.DefaultCacheDirectory()));
        }

        return SnpCollateralSources.Combine([.. sources]);
    }

    private ITdxCollateralSource TdxSource()
    {
        var o = _options;
        return (o.TdxCollateral, o.PcsUrl, o.TdxCollateralDir) switch
        {
            ({ } fixedCollateral, _, _) => TdxCollateralSources.Fixed(fixedCollateral),
            (_, { } pcs, var dir) => new PcsCollateralSource(o.Http!, pcs, dir ?? Cache("tdx") ?? PcsCollateralSource.DefaultCacheDirectory(), o.Time),
            (_, _, { } dir) => new TdxDirectoryCollateral(dir),
            _ => TdxCollateralSources.None,
        };
    }

    private TdxVerifierOptions TdxOptions() => new() { RequireCollateral = !_options.TdxWithoutCollateral };

    private INvidiaCollateralSource NvidiaSources()
    {
        var o = _options;
        var sources = new List<INvidiaCollateralSource> { NvidiaCollateralSources.Files(o.Rims, o.OcspResponses) };
        if (o.NvidiaCollateralDir is { } dir)
        {
            sources.Add(new NvidiaDirectoryCollateral(dir));
        }

        if (o.RimServiceUrl is { } rims)
        {
            sources.Add(new NvidiaServiceCollateral(o.Http!, rims, o.OcspResponder, o.NvidiaCollateralDir ?? Cache("nvidia") ?? NvidiaServiceCollateral.DefaultCacheDirectory()));
        }

        return NvidiaCollateralSources.Combine([.. sources]);
    }

    private string? Cache(string vendor) => _options.CacheRoot is { } root ? Path.Combine(root, vendor) : null;
}
