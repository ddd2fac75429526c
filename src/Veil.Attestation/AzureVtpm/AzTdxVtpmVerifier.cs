using Veil.Attestation.Tdx;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;
using Veil.Abi.Tee;

namespace Veil.Attestation.AzureVtpm;

/// <summary>
/// Verifies Azure TDX vTPM evidence (tee <c>az-tdx-vtpm</c>; Trustee deps/verifier az_tdx_vtpm): the TPM quote as
/// for SNP (<see cref="VtpmQuoteChecks"/>); the TD quote by the existing <see cref="TdxVerifier"/> (PCK chain,
/// signatures, collateral and TCB as configured); the TD quote's REPORTDATA starts with the digest of the HCL
/// variable data (which names the AK); and the TD report inside the HCL report equals the quoted one field by field.
/// Failed checks: <c>tpm_quote.*</c>, <c>hcl.*</c>, <c>init_data.*</c> and the TDX verifier's prefixed <c>tdx.</c>.
/// </summary>
public sealed class AzTdxVtpmVerifier
{
    public const string Tee = TeeNames.AzTdxVtpm;

    private readonly TdxVerifier tdx;

    public AzTdxVtpmVerifier(ITdxCollateralSource collateral, TimeProvider time, TdxVerifierOptions? options = null) =>
        tdx = new TdxVerifier(collateral, time, options);

    /// <param name="expectedReportData">The TPM quote's extraData must equal it exactly; null skips the check.</param>
    /// <param name="expectedInitDataDigest">The SHA-256 init-data digest PCR 8 must hold; null skips the check.</param>
    /// <exception cref="EvidenceFormatException">The evidence, the HCL report, the TD quote or the TPM quote cannot be parsed.</exception>
    public async Task<VerificationResult> VerifyAsync(ReadOnlyMemory<byte> evidence, ReadOnlyMemory<byte>? expectedReportData, ReadOnlyMemory<byte>? expectedInitDataDigest = null, CancellationToken cancellationToken = default)
    {
        var parsed = AzTdxVtpmEvidence.Parse(evidence);
        var hcl = HclReport.Parse(parsed.HclReport);
        if (hcl.ReportType != HclReportType.Tdx)
        {
            throw new EvidenceFormatException("hcl_report.request_data.report_type", "an SNP report in az-tdx-vtpm evidence");
        }

        TdxQuote quote;
        try
        {
            quote = TdxQuote.Parse(parsed.TdQuote);
        }
        catch (EvidenceFormatException e)
        {
            throw new EvidenceFormatException("td_" + e.Field, e.Reason, e);
        }

        var failures = new List<VerificationFailure>();
        using var findings = VtpmQuoteChecks.Check(parsed.Quote, hcl, expectedReportData, expectedInitDataDigest, failures);

        var body = quote.Body;
        var digest = hcl.VariableDataDigest();
        if (!body.ReportData.Span.StartsWith(digest))
        {
            failures.Add(new("hcl.var_data_digest", $"{Hex.Lower(digest)} ({hcl.VariableDataHash.Name} of the HCL variable data)", $"{Hex.Lower(body.ReportData.Span[..digest.Length])} (TD quote REPORTDATA)"));
        }

        CompareTdReport(TdReport.Read(hcl.HardwareReport), body, failures);

        var inner = await tdx.VerifyAsync(quote, null, null, cancellationToken).ConfigureAwait(false);
        failures.AddRange(inner.Failures.Select(f => f with { Check = "tdx." + f.Check }));

        var claims = new Dictionary<string, object>(inner.Claims, StringComparer.Ordinal);
        AzureVtpmClaims.Add(claims, parsed.Version, hcl, findings);
        return new VerificationResult(Tee, claims, failures);
    }

    private static void CompareTdReport(TdReport report, TdxQuoteBody body, List<VerificationFailure> failures)
    {
        Compare("report_data", report.ReportData.Span, body.ReportData.Span);
        if (report.Attributes != body.TdAttributes.Raw)
        {
            failures.Add(new("hcl.td_report.td_attributes", $"0x{body.TdAttributes.Raw:x16} (the TD quote's)", $"0x{report.Attributes:x16}"));
        }

        if (report.Xfam != body.Xfam)
        {
            failures.Add(new("hcl.td_report.xfam", $"0x{body.Xfam:x16} (the TD quote's)", $"0x{report.Xfam:x16}"));
        }

        ReadOnlyMemory<byte>[] quoted = [body.MrTd, body.MrConfigId, body.MrOwner, body.MrOwnerConfig, .. body.Rtmrs];
        for (var i = 0; i < quoted.Length; i++)
        {
            Compare(report.Measurements[i].Name, report.Measurements[i].Value.Span, quoted[i].Span);
        }

        void Compare(string name, ReadOnlySpan<byte> inReport, ReadOnlySpan<byte> inQuote)
        {
            if (!inReport.SequenceEqual(inQuote))
            {
                failures.Add(new("hcl.td_report." + name, Hex.Lower(inQuote) + " (the TD quote's)", Hex.Lower(inReport)));
            }
        }
    }
}
