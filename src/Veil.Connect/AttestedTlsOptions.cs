using Veil.Attestation.Nvidia;
using Veil.Attestation.Snp;
using Veil.Attestation.Tdx;
using Veil.Policy.Model;

namespace Veil.Connect;

/// <summary>What an attested-TLS client checks (docs/attested-tls.md, "Verification").</summary>
public sealed record AttestedTlsOptions
{
    /// <summary>The appraisal policy; only an affirming result lets a connection carry requests.</summary>
    public required AttestationPolicy Policy { get; init; }

    /// <summary>The sample TEE proves nothing; it is refused unless this is set (tests and demos).</summary>
    public bool AllowSample { get; init; }

    /// <summary>Oldest evidence accepted, by <c>issued_at</c>.</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>A connection older than this is not reused, so the next request opens (and attests) a new one.</summary>
    public TimeSpan Reattest { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>TCP connect, TLS handshake and evidence exchange together.</summary>
    public TimeSpan AttestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>SNP VCEK and chain: from the evidence's certificate table by default; add a KDS cache or fetcher here.</summary>
    public ISnpCollateralSource SnpCollateral { get; init; } = SnpCollateralSources.Evidence();

    /// <summary>Intel collateral; without it TDX TCB status cannot be graded and policies that need it fail.</summary>
    public TdxCollateral? TdxCollateral { get; init; }

    /// <summary>NVIDIA RIMs and OCSP responses.</summary>
    public INvidiaCollateralSource NvidiaCollateral { get; init; } = NvidiaCollateralSources.None();

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Told of every attestation, accepted or refused (the status page of <c>veil connect</c>).</summary>
    public Action<AttestationOutcome>? Observer { get; init; }
}
