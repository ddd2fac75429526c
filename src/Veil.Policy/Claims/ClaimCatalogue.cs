namespace Veil.Policy.Claims;

/// <summary>The JSON shape of a claim value (what verifiers put in <c>VerificationResult.Claims</c>).</summary>
public enum ClaimType
{
    /// <summary>Free text (compared exactly).</summary>
    Text,

    /// <summary>Hex text of bytes (compared case-insensitively).</summary>
    Hex,

    /// <summary>A 64-bit integer.</summary>
    Number,

    /// <summary>true or false.</summary>
    Boolean,

    /// <summary>A dotted version string such as <c>535.86.09</c> or <c>96.00.9F.00.01</c>.</summary>
    Version,

    /// <summary>A list of strings.</summary>
    StringList,
}

/// <summary>One documented claim: its name (or a prefix ending in <c>.*</c>), type, the TEE that produces it, and what it means.</summary>
public sealed record ClaimDefinition(string Name, ClaimType Type, string Tee, string Description)
{
    public bool IsPattern => Name.EndsWith(".*", StringComparison.Ordinal);
}

/// <summary>
/// Every claim name a policy may use. This is the single place where the catalogue grows: a name that is
/// not here is rejected when a policy is loaded, so typos cannot silently turn a rule into a no-op.
/// Names and types follow the verifiers (issues 2, 3 and 4); <c>veil.*</c> are set-level claims that
/// the appraiser derives, <c>init_data.*</c> are keys of the verified init-data document.
/// </summary>
public static class ClaimCatalogue
{
    private static readonly ClaimDefinition[] Definitions =
    [
        // AMD SEV-SNP (Veil.Attestation.Snp.SnpClaims)
        new("snp.version", ClaimType.Number, "snp", "ATTESTATION_REPORT version (2, 3 or 5)"),
        new("snp.guest_svn", ClaimType.Number, "snp", "guest security version number from the ID block"),
        new("snp.policy", ClaimType.Hex, "snp", "raw GUEST_POLICY (0x-prefixed hex)"),
        new("snp.policy.abi_major", ClaimType.Number, "snp", "minimum firmware ABI major"),
        new("snp.policy.abi_minor", ClaimType.Number, "snp", "minimum firmware ABI minor"),
        new("snp.policy.smt", ClaimType.Boolean, "snp", "SMT allowed"),
        new("snp.policy.migrate_ma", ClaimType.Boolean, "snp", "migration agent allowed"),
        new("snp.policy.debug", ClaimType.Boolean, "snp", "debugging allowed (host can read guest memory)"),
        new("snp.policy.single_socket", ClaimType.Boolean, "snp", "single socket required"),
        new("snp.policy.cxl_allow", ClaimType.Boolean, "snp", "CXL allowed"),
        new("snp.policy.mem_aes_256_xts", ClaimType.Boolean, "snp", "AES-256-XTS memory encryption required"),
        new("snp.policy.rapl_dis", ClaimType.Boolean, "snp", "RAPL disabled"),
        new("snp.policy.ciphertext_hiding", ClaimType.Boolean, "snp", "ciphertext hiding required"),
        new("snp.policy.page_swap_disable", ClaimType.Boolean, "snp", "page swap disabled"),
        new("snp.family_id", ClaimType.Hex, "snp", "ID block family id"),
        new("snp.image_id", ClaimType.Hex, "snp", "ID block image id"),
        new("snp.vmpl", ClaimType.Number, "snp", "VMPL of the requesting guest"),
        new("snp.signature_algo", ClaimType.Number, "snp", "signature algorithm (1 = ECDSA P-384 SHA-384)"),
        new("snp.platform_info.*", ClaimType.Boolean, "snp", "PLATFORM_INFO bits by name (smt_enabled, tsme_enabled, ecc_enabled, ...)"),
        new("snp.signer_info.*", ClaimType.Boolean, "snp", "signer info bits (author_key_enabled, mask_chip_key)"),
        new("snp.report_data", ClaimType.Hex, "snp", "REPORT_DATA (64 bytes)"),
        new("snp.measurement", ClaimType.Hex, "snp", "launch MEASUREMENT (48 bytes; see 'veil measure snp')"),
        new("snp.host_data", ClaimType.Hex, "snp", "HOST_DATA (32 bytes; init-data digest)"),
        new("snp.id_key_digest", ClaimType.Hex, "snp", "SHA-384 of the ID key"),
        new("snp.author_key_digest", ClaimType.Hex, "snp", "SHA-384 of the author key"),
        new("snp.report_id", ClaimType.Hex, "snp", "report id"),
        new("snp.report_id_ma", ClaimType.Hex, "snp", "migration agent report id"),
        new("snp.chip_id", ClaimType.Hex, "snp", "CHIP_ID (64 bytes)"),
        new("snp.current_version", ClaimType.Version, "snp", "current firmware version"),
        new("snp.committed_version", ClaimType.Version, "snp", "committed firmware version"),
        new("snp.cpuid.family", ClaimType.Number, "snp", "CPUID family (report v3+)"),
        new("snp.cpuid.model", ClaimType.Number, "snp", "CPUID model (report v3+)"),
        new("snp.cpuid.stepping", ClaimType.Number, "snp", "CPUID stepping (report v3+)"),
        new("snp.launch_mit_vector", ClaimType.Hex, "snp", "launch mitigation vector (report v5)"),
        new("snp.current_mit_vector", ClaimType.Hex, "snp", "current mitigation vector (report v5)"),
        new("snp.product", ClaimType.Text, "snp", "Milan, Genoa or Turin"),
        new("snp.signer", ClaimType.Text, "snp", "vcek or vlek"),
        .. Tcb("current_tcb"), .. Tcb("reported_tcb"), .. Tcb("committed_tcb"), .. Tcb("launch_tcb"),

        // Intel TDX (issue 3)
        new("tdx.version", ClaimType.Number, "tdx", "quote version (4 or 5)"),
        new("tdx.mr_td", ClaimType.Hex, "tdx", "MRTD: initial TD contents (TDVF)"),
        new("tdx.rtmr0", ClaimType.Hex, "tdx", "RTMR0 (firmware configuration)"),
        new("tdx.rtmr1", ClaimType.Hex, "tdx", "RTMR1 (kernel, boot loader)"),
        new("tdx.rtmr2", ClaimType.Hex, "tdx", "RTMR2 (kernel command line, initrd)"),
        new("tdx.rtmr3", ClaimType.Hex, "tdx", "RTMR3 (runtime)"),
        new("tdx.mr_seam", ClaimType.Hex, "tdx", "MRSEAM: TDX module measurement"),
        new("tdx.mr_config_id", ClaimType.Hex, "tdx", "MRCONFIGID (init-data digest)"),
        new("tdx.mr_owner", ClaimType.Hex, "tdx", "MROWNER"),
        new("tdx.mr_owner_config", ClaimType.Hex, "tdx", "MROWNERCONFIG"),
        new("tdx.report_data", ClaimType.Hex, "tdx", "REPORTDATA (64 bytes)"),
        new("tdx.td_attributes.*", ClaimType.Boolean, "tdx", "TD attributes by name (debug, sept_ve_disable, ...)"),
        new("tdx.xfam", ClaimType.Hex, "tdx", "XFAM"),
        new("tdx.tee_tcb_svn", ClaimType.Hex, "tdx", "TEE_TCB_SVN"),
        new("tdx.fmspc", ClaimType.Hex, "tdx", "FMSPC of the platform"),
        new("tdx.tcb_status", ClaimType.Text, "tdx", "UpToDate, SWHardeningNeeded, ConfigurationNeeded, OutOfDate, ..."),
        new("tdx.advisory_ids", ClaimType.StringList, "tdx", "Intel security advisories that apply"),
        new("tdx.body_type", ClaimType.Text, "tdx", "tdx1.0 or tdx1.5"),
        new("tdx.mr_signer_seam", ClaimType.Hex, "tdx", "MRSIGNERSEAM"),
        new("tdx.seam_attributes", ClaimType.Hex, "tdx", "SEAMATTRIBUTES"),
        new("tdx.td_attributes", ClaimType.Hex, "tdx", "raw TD attributes"),
        new("tdx.td_attributes.other_bits", ClaimType.Hex, "tdx", "TD attribute bits without a name"),
        new("tdx.tee_tcb_svn2", ClaimType.Hex, "tdx", "TEE_TCB_SVN2 (TDX 1.5)"),
        new("tdx.mr_servicetd", ClaimType.Hex, "tdx", "MRSERVICETD (TDX 1.5)"),
        new("tdx.qe.isv_svn", ClaimType.Number, "tdx", "Quoting Enclave ISV SVN"),
        new("tdx.pce_id", ClaimType.Hex, "tdx", "PCE id from the PCK certificate"),
        new("tdx.pce_svn", ClaimType.Number, "tdx", "PCE SVN from the PCK certificate"),
        new("tdx.tcb.platform_status", ClaimType.Text, "tdx", "TCB status of the platform level"),
        new("tdx.tcb.platform_date", ClaimType.Text, "tdx", "TCB date of the platform level (ISO-8601)"),
        new("tdx.tcb.module_status", ClaimType.Text, "tdx", "TCB status of the TDX module"),
        new("tdx.tcb.qe_status", ClaimType.Text, "tdx", "TCB status of the Quoting Enclave"),
        new("tdx.tcb.relaunch_advised", ClaimType.Boolean, "tdx", "TDX 1.5: Intel QVL would advise relaunching the TD (launched under an out-of-date module now updated)"),
        new("tdx.tcb.qvl_status", ClaimType.Text, "tdx", "the status Intel's QVL would report, incl. TDRelaunchAdvised[ConfigurationNeeded]"),
        new("tdx.event_log.count", ClaimType.Number, "tdx", "events in the replayed CCEL event log"),
        new("tdx.event_log.events", ClaimType.StringList, "tdx", "the replayed events, one line each"),

        // NVIDIA GPUs and NVSwitches (issue 4), per device
        new("nvidia.arch", ClaimType.Text, "nvidia", "HOPPER or BLACKWELL (LS10 for switches)"),
        new("nvidia.driver_version", ClaimType.Version, "nvidia", "driver version from the report"),
        new("nvidia.vbios_version", ClaimType.Version, "nvidia", "VBIOS version from the report"),
        new("nvidia.nonce", ClaimType.Hex, "nvidia", "SPDM request nonce"),
        new("nvidia.cc_mode", ClaimType.Boolean, "nvidia", "confidential computing mode on"),
        new("nvidia.ppcie_mode", ClaimType.Boolean, "nvidia", "protected PCIe mode on"),
        new("nvidia.measurements_match", ClaimType.Boolean, "nvidia", "every active RIM measurement matched"),
        new("nvidia.mismatched_indices", ClaimType.StringList, "nvidia", "measurement indices that did not match"),
        new("nvidia.device_id", ClaimType.Text, "nvidia", "device identity (leaf certificate serial)"),
        new("nvidia.measurement_count", ClaimType.Number, "nvidia", "measurement blocks in the report"),
        new("nvidia.findings", ClaimType.StringList, "nvidia", "named non-fatal findings (e.g. OCSP on hold or missing)"),
        new("nvidia.project", ClaimType.Text, "nvidia", "board project"),
        new("nvidia.project_sku", ClaimType.Text, "nvidia", "board project SKU"),
        new("nvidia.chip_sku", ClaimType.Text, "nvidia", "chip SKU"),
        new("nvidia.chip_info", ClaimType.Text, "nvidia", "chip (Blackwell and later, e.g. GB100)"),
        new("nvidia.fwid", ClaimType.Hex, "nvidia", "firmware id (SHA-384)"),
        new("nvidia.nvdec0_enabled", ClaimType.Boolean, "nvidia", "NVDEC0 engine enabled"),
        new("nvidia.opaque_data_version", ClaimType.Number, "nvidia", "opaque data format version"),
        new("nvidia.hwmodel", ClaimType.Text, "nvidia", "hardware model from the device identity certificate"),
        new("nvidia.device_kind", ClaimType.Text, "nvidia", "gpu or switch"),
        new("nvidia.ueid", ClaimType.Text, "nvidia", "UEID (decimal leaf serial, as NRAS reports it)"),
        new("nvidia.set.device_count", ClaimType.Number, "nvidia", "devices verified as one set"),
        new("nvidia.set.gpu_count", ClaimType.Number, "nvidia", "GPUs in the set"),
        new("nvidia.set.switch_count", ClaimType.Number, "nvidia", "NVSwitches in the set"),
        new("nvidia.set.cc_mode", ClaimType.Boolean, "nvidia", "every device in CC mode"),
        new("nvidia.set.ppcie_mode", ClaimType.Boolean, "nvidia", "every device in protected PCIe mode"),
        new("nvidia.set.measurements_match", ClaimType.Boolean, "nvidia", "every device's measurements matched its RIMs"),

        // Azure confidential VMs, tees az-snp-vtpm and az-tdx-vtpm (Veil.Attestation.AzureVtpm): their evidence also
        // carries snp.* or tdx.* claims of the hardware report inside the HCL report (see Carries).
        new("az.evidence_version", ClaimType.Number, "az", "attestation-agent evidence layout (0, 1, 2; 2 binds the report data in the HCL user-data)"),
        new("az.hcl.version", ClaimType.Number, "az", "HCL report header version"),
        new("az.hcl.report_type", ClaimType.Text, "az", "snp or tdx: the hardware report inside the HCL report"),
        new("az.report_data", ClaimType.Hex, "az", "the vTPM quote's extraData (KBS: the 48-byte binding of nonce and TEE key)"),
        new("az.ak.kty", ClaimType.Text, "az", "RSA or EC: the vTPM attestation key's type"),
        new("az.ak.sha256", ClaimType.Hex, "az", "SHA-256 of the attestation key's SubjectPublicKeyInfo"),
        new("az.user_data", ClaimType.Hex, "az", "HCL runtime claims user-data (64 bytes)"),
        new("az.vm_configuration.console_enabled", ClaimType.Boolean, "az", "serial console enabled"),
        new("az.vm_configuration.secure_boot", ClaimType.Boolean, "az", "UEFI secure boot enabled"),
        new("az.vm_configuration.tpm_enabled", ClaimType.Boolean, "az", "vTPM enabled"),
        new("az.vm_configuration.tpm_persisted", ClaimType.Boolean, "az", "vTPM state persisted across boots"),
        new("az.vm_configuration.vm_unique_id", ClaimType.Text, "az", "Azure VM unique id"),
        new("az.vm_configuration.root_cert_thumbprint", ClaimType.Text, "az", "thumbprint of the paravisor's root certificate"),
        new("tpm.clock", ClaimType.Number, "tpm", "TPM clock (ms) when the quote was made"),
        new("tpm.reset_count", ClaimType.Number, "tpm", "TPM reset count (boots)"),
        new("tpm.restart_count", ClaimType.Number, "tpm", "TPM restart count"),
        new("tpm.safe", ClaimType.Boolean, "tpm", "TPM clock safe flag"),
        new("tpm.firmware_version", ClaimType.Hex, "tpm", "TPM firmware version (0x-prefixed hex)"),
        new("tpm.qualified_signer", ClaimType.Hex, "tpm", "qualified name of the signing key (TPM2B_NAME)"),
        new("tpm.pcr_bank", ClaimType.Text, "tpm", "the quoted PCR bank (sha256)"),
        .. Pcrs(),

        // Confidential Containers sample TEE (no hardware; for tests and the broker's sample path)
        new("sample.svn", ClaimType.Text, "sample", "sample security version"),
        new("sample.launch_digest", ClaimType.Text, "sample", "sample launch digest"),
        new("sample.debug", ClaimType.Boolean, "sample", "sample debug flag"),
        new("sample.report_data", ClaimType.Hex, "sample", "sample report data"),

        // Derived by the appraiser from the whole evidence set; usable in any submodule.
        new("veil.cpu_count", ClaimType.Number, "veil", "number of CPU TEE reports in the evidence set"),
        new("veil.gpu_count", ClaimType.Number, "veil", "number of GPUs in the evidence set"),
        new("veil.switch_count", ClaimType.Number, "veil", "number of NVSwitches in the evidence set"),

        // Keys of the verified init-data document (string values).
        new("init_data.*", ClaimType.Text, "init_data", "a top-level key of the init-data document, e.g. init_data.image_digest"),
    ];

    private static readonly Dictionary<string, ClaimDefinition> Exact =
        Definitions.Where(d => !d.IsPattern).ToDictionary(d => d.Name, StringComparer.Ordinal);

    private static readonly ClaimDefinition[] Patterns = Definitions.Where(d => d.IsPattern).ToArray();

    public static IReadOnlyList<ClaimDefinition> All => Definitions;

    /// <summary>The definition for a concrete claim name, or null when the name is not documented.</summary>
    public static ClaimDefinition? Find(string name)
    {
        if (Exact.TryGetValue(name, out var d))
        {
            return d;
        }

        foreach (var p in Patterns)
        {
            var prefix = p.Name[..^1];
            if (name.Length > prefix.Length && name.StartsWith(prefix, StringComparison.Ordinal) && !name[prefix.Length..].Contains('.', StringComparison.Ordinal))
            {
                return p;
            }
        }

        return null;
    }

    /// <summary>
    /// Evidence whose verifier also reports another claim family: Azure vTPM evidence carries the SNP report or TD
    /// quote inside it (snp.*, tdx.*), the HCL report (az.*) and a TPM quote (tpm.*). Rules on those claims apply to it.
    /// </summary>
    private static readonly Dictionary<string, string[]> Carried = new(StringComparer.Ordinal)
    {
        ["az-snp-vtpm"] = ["snp", "az", "tpm"],
        ["az-tdx-vtpm"] = ["tdx", "az", "tpm"],
    };

    /// <summary>Whether evidence of <paramref name="evidenceTee"/> carries claims owned by <paramref name="claimTee"/>.</summary>
    public static bool Carries(string evidenceTee, string claimTee) =>
        evidenceTee == claimTee || (Carried.TryGetValue(evidenceTee, out var families) && Array.IndexOf(families, claimTee) >= 0);

    /// <summary>The TEE a claim belongs to (its first name segment's owner), for matching rules to evidence.</summary>
    public static string TeeOf(string name) => Find(name)?.Tee ?? name.Split('.')[0];

    private static IEnumerable<ClaimDefinition> Pcrs() =>
        Enumerable.Range(0, 24).Select(i => new ClaimDefinition($"tpm.pcr{i:d2}", ClaimType.Hex, "tpm", i == 8 ? "SHA-256 PCR 8 (CoCo: the init-data digest extended from zero)" : $"SHA-256 PCR {i}"));

    private static IEnumerable<ClaimDefinition> Tcb(string which) =>
    [
        new($"snp.{which}", ClaimType.Text, "snp", $"{which} TCB_VERSION as text"),
        new($"snp.{which}.bootloader", ClaimType.Number, "snp", $"{which} boot loader SVN"),
        new($"snp.{which}.tee", ClaimType.Number, "snp", $"{which} TEE (PSP OS) SVN"),
        new($"snp.{which}.snp", ClaimType.Number, "snp", $"{which} SNP firmware SVN"),
        new($"snp.{which}.microcode", ClaimType.Number, "snp", $"{which} microcode SVN"),
        new($"snp.{which}.fmc", ClaimType.Number, "snp", $"{which} FMC SVN (Turin only)"),
    ];
}
