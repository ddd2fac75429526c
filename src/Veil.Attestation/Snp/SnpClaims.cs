namespace Veil.Attestation.Snp;

/// <summary>
/// Maps a report to Veil's stable claim names (<c>snp.*</c>, documented in docs/claims.md). TCB versions are
/// decoded with the product's layout, so the same name means the same component on every generation.
/// </summary>
public static class SnpClaims
{
    public static Dictionary<string, object> From(SnpReport r, SnpProduct? product, SnpSigningKey? signer)
    {
        // Sized for every claim up front: growing the table rehashes it several times per report.
        var c = new Dictionary<string, object>(80, StringComparer.Ordinal)
        {
            ["snp.version"] = (long)r.Version,
            ["snp.guest_svn"] = (long)r.GuestSvn,
            ["snp.policy"] = $"0x{r.Policy.Raw:x16}",
            ["snp.policy.abi_major"] = (long)r.Policy.AbiMajor,
            ["snp.policy.abi_minor"] = (long)r.Policy.AbiMinor,
            ["snp.policy.smt"] = Box(r.Policy.Smt),
            ["snp.policy.migrate_ma"] = Box(r.Policy.MigrateMa),
            ["snp.policy.debug"] = Box(r.Policy.Debug),
            ["snp.policy.single_socket"] = Box(r.Policy.SingleSocket),
            ["snp.policy.cxl_allow"] = Box(r.Policy.CxlAllow),
            ["snp.policy.mem_aes_256_xts"] = Box(r.Policy.MemAes256Xts),
            ["snp.policy.rapl_dis"] = Box(r.Policy.RaplDis),
            ["snp.policy.ciphertext_hiding"] = Box(r.Policy.CiphertextHiding),
            ["snp.policy.page_swap_disable"] = Box(r.Policy.PageSwapDisable),
            ["snp.family_id"] = Hex.Lower(r.FamilyId.Span),
            ["snp.image_id"] = Hex.Lower(r.ImageId.Span),
            ["snp.vmpl"] = (long)r.Vmpl,
            ["snp.signature_algo"] = (long)r.SignatureAlgorithm,
            ["snp.platform_info.smt_enabled"] = Box(r.PlatformInfo.SmtEnabled),
            ["snp.platform_info.tsme_enabled"] = Box(r.PlatformInfo.TsmeEnabled),
            ["snp.platform_info.ecc_enabled"] = Box(r.PlatformInfo.EccEnabled),
            ["snp.platform_info.rapl_disabled"] = Box(r.PlatformInfo.RaplDisabled),
            ["snp.platform_info.ciphertext_hiding_enabled"] = Box(r.PlatformInfo.CiphertextHidingEnabled),
            ["snp.platform_info.alias_check_complete"] = Box(r.PlatformInfo.AliasCheckComplete),
            ["snp.platform_info.tio_enabled"] = Box(r.PlatformInfo.TioEnabled),
            ["snp.signer_info.author_key_enabled"] = Box(r.SignerInfo.AuthorKeyEnabled),
            ["snp.signer_info.mask_chip_key"] = Box(r.SignerInfo.MaskChipKey),
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
            AddTcb(c, CurrentTcb, r.CurrentTcb, p);
            AddTcb(c, ReportedTcb, r.ReportedTcb, p);
            AddTcb(c, CommittedTcb, r.CommittedTcb, p);
            AddTcb(c, LaunchTcb, r.LaunchTcb, p);
        }

        if (signer is SnpSigningKey.Vcek or SnpSigningKey.Vlek)
        {
            c["snp.signer"] = signer == SnpSigningKey.Vcek ? "vcek" : "vlek";
        }

        return c;
    }

    private static void AddTcb(Dictionary<string, object> c, TcbNames names, TcbVersion tcb, SnpProduct product)
    {
        var parts = tcb.Decode(product.Layout());
        c[names.Whole] = tcb.ToString();
        c[names.Bootloader] = (long)parts.Bootloader;
        c[names.Tee] = (long)parts.Tee;
        c[names.Snp] = (long)parts.Snp;
        c[names.Microcode] = (long)parts.Microcode;
        if (parts.Fmc is { } fmc)
        {
            c[names.Fmc] = (long)fmc;
        }
    }

    private static readonly object True = true;
    private static readonly object False = false;

    private static object Box(bool value) => value ? True : False;

    private static readonly TcbNames CurrentTcb = new("snp.current_tcb");
    private static readonly TcbNames ReportedTcb = new("snp.reported_tcb");
    private static readonly TcbNames CommittedTcb = new("snp.committed_tcb");
    private static readonly TcbNames LaunchTcb = new("snp.launch_tcb");

    /// <summary>One TCB's claim names, made once rather than concatenated for every report.</summary>
    private sealed class TcbNames(string whole)
    {
        public string Whole { get; } = whole;

        public string Bootloader { get; } = whole + ".bootloader";

        public string Tee { get; } = whole + ".tee";

        public string Snp { get; } = whole + ".snp";

        public string Microcode { get; } = whole + ".microcode";

        public string Fmc { get; } = whole + ".fmc";
    }
}
