using System.Security.Cryptography.X509Certificates;
using Veil.Attestation.Nvidia;
using Veil.Attestation.Tdx.IntelCollateral;

namespace Veil.Attestation.Verification;

/// <summary>
/// Everything a verifier may be given besides the evidence: vendor collateral (files, offline directories, the
/// vendors' services with a cache), the time to verify at, and whether the sample TEE is allowed. One set of options
/// for every TEE, so a collateral setting that works for <c>veil verify</c> works for <c>veil appraise</c> and the
/// broker too. The vendors' roots are not an option: they are pinned in <c>Collateral/</c>.
/// </summary>
public sealed record CollateralOptions
{
    /// <summary>The clock certificates, CRLs and TCB Info are checked against (a vector pins it; production: system).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Used by every fetcher; needed when a service URL is set, owned by the caller.</summary>
    public HttpClient? Http { get; init; }

    /// <summary>The sample TEE proves nothing: without this the factory reports it unavailable.</summary>
    public bool AllowSample { get; init; }

    /// <summary>snp: a VCEK or VLEK given as a file (else the evidence's own, the directory or KDS).</summary>
    public X509Certificate2? SnpSigningCertificate { get; init; }

    /// <summary>snp: ASK/ASVK then ARK (or the ASK alone), chained to the pinned ARK.</summary>
    public IReadOnlyList<X509Certificate2> SnpCertificateChain { get; init; } = [];

    /// <summary>snp: an offline directory in the KDS cache layout.</summary>
    public string? SnpCollateralDir { get; init; }

    /// <summary>snp: AMD KDS (or a mirror) to fetch missing certificates from, cached in <see cref="SnpCollateralDir"/>.</summary>
    public Uri? KdsUrl { get; init; }

    /// <summary>tdx: one fixed collateral document (dcap-qvl layout); excludes the directory and PCS.</summary>
    public TdxCollateral? TdxCollateral { get; init; }

    /// <summary>tdx: an offline directory of Intel PCS bodies (also the PCS cache when <see cref="PcsUrl"/> is set).</summary>
    public string? TdxCollateralDir { get; init; }

    /// <summary>tdx: Intel PCS or a PCCS to fetch missing collateral from.</summary>
    public Uri? PcsUrl { get; init; }

    /// <summary>tdx: signatures and the PCK chain only, no CRLs and no TCB status (<c>--no-collateral</c>).</summary>
    public bool TdxWithoutCollateral { get; init; }

    /// <summary>nvidia: driver and VBIOS RIMs given as files.</summary>
    public IReadOnlyList<NvidiaRimFile> Rims { get; init; } = [];

    /// <summary>nvidia: DER OCSP responses given as files.</summary>
    public IReadOnlyList<byte[]> OcspResponses { get; init; } = [];

    /// <summary>nvidia: an offline directory (rims/, ocsp/; the fetcher's cache layout).</summary>
    public string? NvidiaCollateralDir { get; init; }

    /// <summary>nvidia: NVIDIA's RIM service, cached in <see cref="NvidiaCollateralDir"/>.</summary>
    public Uri? RimServiceUrl { get; init; }

    /// <summary>nvidia: an OCSP responder asked about every chain certificate (needs <see cref="RimServiceUrl"/>).</summary>
    public Uri? OcspResponder { get; init; }

    /// <summary>Where fetched collateral is cached when no directory is given (per vendor below it).</summary>
    public string? CacheRoot { get; init; }

    internal bool HasTdxCollateral => TdxCollateral is not null || TdxCollateralDir is not null || PcsUrl is not null;

    internal bool HasNvidiaCollateral => Rims.Count > 0 || NvidiaCollateralDir is not null || RimServiceUrl is not null;
}
