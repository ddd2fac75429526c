namespace Veil.Attestation.AzureVtpm;

/// <summary>
/// The Azure part of the claims (<c>az.*</c>: the HCL report and its runtime claims) and the TPM quote's
/// (<c>tpm.*</c>, PCRs as <c>tpm.pcr00</c>…), documented in docs/claims.md. The hardware report's own claims
/// (<c>snp.*</c> or <c>tdx.*</c>) are added by the inner verifier, under their usual names.
/// </summary>
internal static class AzureVtpmClaims
{
    private static readonly Dictionary<string, string> ConfigurationClaims = new(StringComparer.Ordinal)
    {
        ["console-enabled"] = "az.vm_configuration.console_enabled",
        ["secure-boot"] = "az.vm_configuration.secure_boot",
        ["tpm-enabled"] = "az.vm_configuration.tpm_enabled",
        ["tpm-persisted"] = "az.vm_configuration.tpm_persisted",
        ["vmUniqueId"] = "az.vm_configuration.vm_unique_id",
        ["root-cert-thumbprint"] = "az.vm_configuration.root_cert_thumbprint",
    };

    public static void Add(Dictionary<string, object> c, int evidenceVersion, HclReport hcl, VtpmQuoteFindings f)
    {
        c["az.evidence_version"] = (long)evidenceVersion;
        c["az.hcl.version"] = (long)hcl.Version;
        c["az.hcl.report_type"] = hcl.ReportType == HclReportType.Snp ? "snp" : "tdx";
        c["az.report_data"] = Hex.Lower(f.Message.ExtraData.Span);
        if (f.VariableData is { } vd)
        {
            c["az.ak.kty"] = vd.Ak.Kty;
            c["az.ak.sha256"] = vd.Ak.SubjectPublicKeyInfoSha256;
            if (vd.UserData is { } user)
            {
                c["az.user_data"] = Hex.Lower(user);
            }

            foreach (var (key, value) in vd.VmConfiguration)
            {
                c[ConfigurationClaims[key]] = value;
            }
        }

        var m = f.Message;
        c["tpm.clock"] = (long)Math.Min(m.Clock, long.MaxValue);
        c["tpm.reset_count"] = (long)m.ResetCount;
        c["tpm.restart_count"] = (long)m.RestartCount;
        c["tpm.safe"] = m.Safe;
        c["tpm.firmware_version"] = $"0x{m.FirmwareVersion:x16}";
        c["tpm.qualified_signer"] = Hex.Lower(m.QualifiedSigner.Span);
        c["tpm.pcr_bank"] = "sha256";
        foreach (var (index, value) in f.Pcrs)
        {
            c[PcrName(index)] = Hex.Lower(value);
        }
    }

    public static string PcrName(int index) => $"tpm.pcr{index:d2}";
}
