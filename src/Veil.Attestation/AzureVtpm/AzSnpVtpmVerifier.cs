using Veil.Attestation.Snp;
using Veil.Abi.Tee;

namespace Veil.Attestation.AzureVtpm;

/// <summary>
/// Verifies Azure SEV-SNP vTPM evidence (tee <c>az-snp-vtpm</c>; Trustee deps/verifier az_snp_vtpm):
/// <list type="number">
/// <item>the TPM quote is signed by the AK in the HCL report's variable data, carries the expected report data as
/// extraData, and its PCR digest covers the PCR values sent with it (<see cref="VtpmQuoteChecks"/>);</item>
/// <item>the SNP report's REPORT_DATA starts with the digest of that variable data;</item>
/// <item>for evidence v2, the variable data's user-data starts with the report data too;</item>
/// <item>the SNP report verifies with the existing <see cref="SnpVerifier"/> (VCEK from the evidence or the
/// collateral, chain to the pinned AMD roots) and was requested at VMPL 0 (the paravisor's level);</item>
/// <item>with an init-data digest, PCR 8 holds it extended once from zero.</item>
/// </list>
/// Every failed check is named (<c>tpm_quote.*</c>, <c>hcl.*</c>, <c>init_data.*</c>, and the SNP verifier's checks
/// prefixed <c>snp.</c>); claims are <c>snp.*</c>, <c>az.*</c> and <c>tpm.*</c>.
/// </summary>
public sealed class AzSnpVtpmVerifier
{
    public const string Tee = TeeNames.AzSnpVtpm;

    /// <summary>The VMPL of Azure's paravisor, which requests the report: Trustee's HCL_VMPL_VALUE.</summary>
    public const uint HclVmpl = 0;

    private readonly SnpVerifier snp;

    /// <param name="collateral">Where the VCEK comes from: include <see cref="SnpCollateralSources.Evidence"/> to use the one the evidence carries.</param>
    public AzSnpVtpmVerifier(ISnpCollateralSource collateral, TimeProvider time) => snp = new SnpVerifier(collateral, time);

    /// <param name="expectedReportData">The TPM quote's extraData must equal it exactly (KBS: the 48-byte SHA-384 binding); null skips the check.</param>
    /// <param name="expectedInitDataDigest">The SHA-256 init-data digest PCR 8 must hold; null skips the check.</param>
    /// <exception cref="EvidenceFormatException">The evidence, the HCL report, the SNP report or the quote cannot be parsed.</exception>
    public async Task<VerificationResult> VerifyAsync(ReadOnlyMemory<byte> evidence, ReadOnlyMemory<byte>? expectedReportData, ReadOnlyMemory<byte>? expectedInitDataDigest = null, CancellationToken cancellationToken = default)
    {
        var parsed = AzSnpVtpmEvidence.Parse(evidence);
        var hcl = HclReport.Parse(parsed.HclReport);
        if (hcl.ReportType != HclReportType.Snp)
        {
            throw new EvidenceFormatException("hcl_report.request_data.report_type", "a TDX report in az-snp-vtpm evidence");
        }

        SnpReport report;
        try
        {
            report = SnpReport.Parse(hcl.HardwareReport.Span);
        }
        catch (EvidenceFormatException e)
        {
            throw new EvidenceFormatException("hcl_report." + e.Field, e.Reason, e);
        }

        var failures = new List<VerificationFailure>();
        using var findings = VtpmQuoteChecks.Check(parsed.Quote, hcl, expectedReportData, expectedInitDataDigest, failures);

        var digest = hcl.VariableDataDigest();
        if (!report.ReportData.Span.StartsWith(digest))
        {
            failures.Add(new("hcl.var_data_digest", $"{Hex.Lower(digest)} ({hcl.VariableDataHash.Name} of the HCL variable data)", $"{Hex.Lower(report.ReportData.Span[..digest.Length])} (SNP REPORT_DATA)"));
        }

        if (parsed.Version >= 2)
        {
            CheckUserData(findings, expectedReportData ?? findings.Message.ExtraData, failures);
        }

        var inner = await snp.VerifyAsync(new SnpEvidence(report, parsed.Vcek is null ? [] : [parsed.Vcek]), null, cancellationToken).ConfigureAwait(false);
        failures.AddRange(inner.Failures.Select(f => f with { Check = "snp." + f.Check }));
        if (report.Vmpl != HclVmpl)
        {
            failures.Add(new("snp.report.vmpl", HclVmpl.ToString(System.Globalization.CultureInfo.InvariantCulture) + " (the paravisor's)", report.Vmpl.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        var claims = new Dictionary<string, object>(inner.Claims, StringComparer.Ordinal);
        AzureVtpmClaims.Add(claims, parsed.Version, hcl, findings);
        return new VerificationResult(Tee, claims, failures);
    }

    /// <summary>Evidence v2: the guest wrote the report data as HCL user-data, so the hardware report itself binds the nonce.</summary>
    internal static void CheckUserData(VtpmQuoteFindings findings, ReadOnlyMemory<byte> expected, List<VerificationFailure> failures)
    {
        if (findings.VariableData is not { } vd)
        {
            return; // hcl.ak_pub already names the unreadable variable data.
        }

        if (vd.UserData is not { } user || !user.AsSpan().StartsWith(expected.Span))
        {
            failures.Add(new("hcl.user_data", $"{Hex.Lower(expected.Span)}… (the report data, zero-padded)", vd.UserData is { } u ? Hex.Lower(u) : "absent"));
        }
    }
}
