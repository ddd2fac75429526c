using Veil.Attestation;

namespace Veil.Cli;

/// <summary>
/// The <c>veil verify</c> options that would supply what a failure says is missing. The verifiers name the missing
/// collateral without knowing how it reaches them (the broker has its own settings), so the hint is the CLI's.
/// </summary>
internal static class CollateralHints
{
    public static string? Snp(VerificationFailure f) => f.Check switch
    {
        "collateral.vcek" => "--vcek FILE (this chip's VCEK for the reported TCB), --cert-table FILE (an extended report's certificates), "
            + "--collateral-dir DIR (AMD KDS layout) or --kds-url https://kdsintf.amd.com (fetched, and cached in --collateral-dir)",
        "collateral.vlek" => "--vcek FILE (the VLEK, from the cloud provider), --cert-table FILE (an extended report's certificates) "
            + "or --collateral-dir DIR holding it",
        _ => null,
    };

    public static string? Tdx(VerificationFailure f) => f.Check switch
    {
        "collateral" => "--collateral FILE.json (dcap-qvl layout), --collateral-dir DIR (Intel PCS bodies) or "
            + "--pcs-url https://api.trustedservices.intel.com (fetched, and cached in --collateral-dir); "
            + "or --no-collateral to check signatures and the PCK chain only (no tdx.tcb_status)",
        _ => null,
    };

    public static string? Gpu(VerificationFailure f) =>
        f.Check.EndsWith("device_chain", StringComparison.Ordinal) && f.Actual == "none supplied"
            ? "--cert-chain FILE (the device certificate chain, leaf first, PEM), or an evidence list whose entries carry 'certificate'"
            : null;
}
