using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Veil.Attestation;
using Veil.Attestation.AzureVtpm;
using Veil.Attestation.Snp;
using Veil.Attestation.Tdx;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Broker.Verification;

/// <summary>
/// tees "az-snp-vtpm" and "az-tdx-vtpm": Azure confidential VM evidence as CoCo's attestation-agent sends it,
/// verified by Veil.Attestation's Azure vTPM verifiers. The expected report data is the bare 48-byte KBS binding
/// (the TPM quote's extraData holds it unpadded); the SNP VCEK is the one in the evidence, TDX uses the broker's
/// Intel collateral. NVIDIA GPU evidence alongside (NCCadsH100v5) goes through additional_evidence as for snp.
/// </summary>
internal sealed class AzureVtpmEvidenceVerifier(string tee, Func<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>, CancellationToken, Task<VerificationResult>> verify) : IEvidenceVerifier
{
    public string Tee => tee;

    public Task<VerificationResult> VerifyAsync(JsonElement evidence, ReadOnlyMemory<byte> expectedReportData, CancellationToken ct)
    {
        if (evidence.ValueKind != JsonValueKind.Object)
        {
            throw new EvidenceFormatException($"{tee} evidence", "expected a JSON object {tpm_quote, hcl_report, …}");
        }

        return verify(JsonMarshal.GetRawUtf8Value(evidence).ToArray(), expectedReportData, ct);
    }

    /// <summary>The broker's registration: az-snp-vtpm always, az-tdx-vtpm when the broker has Intel collateral (as tdx).</summary>
    public static void Register(IServiceCollection services, ITdxCollateralSource? tdxCollateral, Dictionary<string, string> unavailable)
    {
        services.AddSingleton<IEvidenceVerifier>(sp =>
        {
            var v = new AzSnpVtpmVerifier(SnpCollateralSources.Embedded(), sp.GetRequiredService<TimeProvider>());
            return new AzureVtpmEvidenceVerifier(AzSnpVtpmVerifier.Tee, (e, r, ct) => v.VerifyAsync(e, r, null, ct));
        });
        if (tdxCollateral is null)
        {
            unavailable[AzTdxVtpmVerifier.Tee] = "TEE not supported: az-tdx-vtpm needs Intel collateral; start the broker with --tdx-collateral-dir DIR (PCS bodies) or --pcs-url URL";
            return;
        }

        services.AddSingleton<IEvidenceVerifier>(sp =>
        {
            var v = new AzTdxVtpmVerifier(tdxCollateral, sp.GetRequiredService<TimeProvider>());
            return new AzureVtpmEvidenceVerifier(AzTdxVtpmVerifier.Tee, (e, r, ct) => v.VerifyAsync(e, r, null, ct));
        });
    }
}
