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

    /// <summary>Which evidence the endpoint serves: a Veil gateway's document (the default) or a dstack report.</summary>
    public EndpointForm Form { get; init; } = EndpointForm.Veil;

    /// <summary>With <see cref="EndpointForm.Dstack"/>: the report's path; the nonce goes in <c>?nonce=</c> as 64 hex digits.</summary>
    public string DstackReportPath { get; init; } = "/v1/attestation/report";

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Told of every attestation, accepted or refused (the status page of <c>veil connect</c>).</summary>
    public Action<AttestationOutcome>? Observer { get; init; }
}

/// <summary>The evidence an endpoint serves (docs/attested-tls.md).</summary>
public enum EndpointForm
{
    /// <summary><c>/.well-known/veil/attestation</c>: report data binds the nonce, the TLS key and the GPU evidence.</summary>
    Veil,

    /// <summary>
    /// dstack's gateway report (<c>/v1/attestation/report</c>): a TDX quote whose report data binds a signing address and
    /// the nonce, its JSON event log, NVIDIA evidence over the nonce. The TLS key is not bound.
    /// </summary>
    Dstack,
}
