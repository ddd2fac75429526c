namespace Veil.Attestation.Snp;

/// <summary>
/// Maps a report to Veil's stable claim names (<c>snp.*</c>, documented in docs/claims.md). TCB versions are
/// decoded with the product's layout, so the same name means the same component on every generation.
/// </summary>
public static class SnpClaims
{
    public static Dictionary<string, object> From(SnpReport r, SnpProduct? product, SnpSigningKey? signer)
    {
        var c = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["snp.version"] = (long)r.Version,
            ["snp.guest_svn"] = (long)r.GuestSvn,
            ["snp.policy"] = $"0x{r.Policy.Raw:x16}",
            ["snp.policy.abi_major"] = (long)r.Policy.AbiMajor,
            ["snp.policy.abi_minor"] = (long)r.Policy.AbiMinor,
            ["snp.policy.smt"] = r.Policy.Smt,
            ["snp.policy.migrate_ma"] = r.Policy.MigrateMa,
            ["snp.policy.debug"] = r.Policy.Debug,
            ["snp.policy.single_socket"] = r.Policy.SingleSocket,
            ["snp.policy.cxl_allow"] = r.Policy.CxlAllow,
            ["snp.policy.mem_aes_256_xts"] = r.Policy.MemAes256Xts,
            ["snp.policy.rapl_dis"] = r.Policy.RaplDis,
            ["snp.policy.ciphertext_hiding"] = r.Policy.CiphertextHiding,
            ["snp.policy.page_swap_disable"] = r.Policy.PageSwapDisable,
            ["snp.family_id"] = Hex.Lower(r.FamilyId.Span),
            ["snp.image_id"] = Hex.Lower(r.ImageId.Span),
            ["snp.vmpl"] = (long)r.Vmpl,
            ["snp.signature_algo"] = (long)r.SignatureAlgorithm,
            ["snp.platform_info.smt_enabled"] = r.PlatformInfo.SmtEnabled,
            ["snp.platform_info.tsme_enabled"] = r.PlatformInfo.TsmeEnabled,
            ["snp.platform_info.ecc_enabled"] = r.PlatformInfo.EccEnabled,
            ["snp.platform_info.rapl_disabled"] = r.PlatformInfo.RaplDisabled,
            ["snp.platform_info.ciphertext_hiding_enabled"] = r.PlatformInfo.CiphertextHidingEnabled,
            ["snp.platform_info.alias_check_complete"] = r.PlatformInfo.AliasCheckComplete,
            ["snp.platform_info.tio_enabled"] = r.PlatformInfo.TioEnabled,
            ["snp.signer_info.author_key_enabled"] = r.SignerInfo.AuthorKeyEnabled,
            ["snp.signer_info.mask_chip_key"] = r.SignerInfo.MaskChipKey,
            ["snp.report_data"] = Hex.Lower(r.ReportData.Span),
            ["snp.measurement"] = Hex.Lower(r.Measurement.Span),
            ["snp.host_data"] = Hex.Lower(r.HostData.Span),
            ["snp.id_key_digest"] = Hex.Lower(r.IdKeyDigest.Span),
            ["snp.author_key_digest"] = Hex.Lower(r.AuthorKeyDigest.Span),
            ["snp.report_id"] = Hex.Lower(r.ReportId.Span),
            ["snp.report_id_ma"] = Hex.Lower(r.ReportIdMa.Span),
            ["snp.chip_id"] = Hex.Lower(r.ChipId.Span),
            ["snp.current_version"] = r.CurrentVersion.ToString(),
            ["snp.committed_version"] = r.CommittedVersion.ToString(),
        };

        if (r.CpuId is { } cpu)
        {
            c["snp.cpuid.family"] = (long)cpu.Family;
            c["snp.cpuid.model"] = (long)cpu.Model;
            c["snp.cpuid.stepping"] = (long)cpu.Stepping;
        }

        if (r.LaunchMitVector is { } launchMit && r.CurrentMitVector is { } currentMit)
        {
            c["snp.launch_mit_vector"] = $"0x{launchMit:x16}";
            c["snp.current_mit_vector"] = $"0x{currentMit:x16}";
        }

        if (product is { } p)
        {
            c["snp.product"] = p.Name();
            AddTcb(c, "snp.current_tcb", r.CurrentTcb, p);
            AddTcb(c, "snp.reported_tcb", r.ReportedTcb, p);
            AddTcb(c, "snp.committed_tcb", r.CommittedTcb, p);
            AddTcb(c, "snp.launch_tcb", r.LaunchTcb, p);
        }

        if (signer is SnpSigningKey.Vcek or SnpSigningKey.Vlek)
        {
            c["snp.signer"] = signer == SnpSigningKey.Vcek ? "vcek" : "vlek";
        }

        return c;
    }

    private static void AddTcb(Dictionary<string, object> c, string prefix, TcbVersion tcb, SnpProduct product)
    {
        var parts = tcb.Decode(product.Layout());
        c[prefix] = tcb.ToString();
        c[prefix + ".bootloader"] = (long)parts.Bootloader;
        c[prefix + ".tee"] = (long)parts.Tee;
        c[prefix + ".snp"] = (long)parts.Snp;
        c[prefix + ".microcode"] = (long)parts.Microcode;
        if (parts.Fmc is { } fmc)
        {
            c[prefix + ".fmc"] = (long)fmc;
        }
    }
}
