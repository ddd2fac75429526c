using Veil.Attestation.Nvidia;
using static Veil.Attestation.Tests.Nvidia.NvidiaVectorCases;

namespace Veil.Attestation.Tests.Nvidia;

/// <summary>Each real NVIDIA vector gives the outcome its MANIFEST states.</summary>
public sealed class NvidiaVectorTests
{
    [Fact]
    public async Task History_report_with_both_test_rims_passes_every_step_with_all_33_measurements_matching()
    {
        var r = await VerifyAsync(HistoryReport, HistoryChain, TestNoGpuNonce, RimTime, TestDriverRim, TestVbiosRim);
        Assert.True(r.Combined.Verified, Failures(r));
        var c = r.Combined.Claims;
        Assert.Equal("HOPPER", c["nvidia.arch"]);
        Assert.Equal("545.00", c["nvidia.driver_version"]);
        Assert.Equal("96.00.5E.00.01", c["nvidia.vbios_version"]);
        Assert.Equal(TestNoGpuNonce, c["nvidia.nonce"]);
        Assert.Equal(true, c["nvidia.cc_mode"]);
        Assert.Equal(true, c["nvidia.measurements_match"]);
        Assert.Empty((IEnumerable<string>)c["nvidia.mismatched_indices"]);
        Assert.Equal("GH100 A01 GSP BROM", c["nvidia.hwmodel"]);
        Assert.StartsWith("50948c72", (string)c["nvidia.device_id"], StringComparison.Ordinal);
        Assert.Equal(1L, c["nvidia.set.gpu_count"]);
        Assert.Equal(true, c["nvidia.set.measurements_match"]);
        // Only OCSP (not available offline) is left as a finding.
        Assert.All((IEnumerable<string>)c["nvidia.findings"], f => Assert.Contains(".ocsp:", f, StringComparison.Ordinal));
    }

    [Fact]
    public async Task History_report_counts_33_active_golden_measurements_21_driver_and_12_vbios()
    {
        var driver = Veil.Attestation.Nvidia.Rim.RimDocument.Parse(File.ReadAllBytes(TestDriverRim), "driver");
        var vbios = Veil.Attestation.Nvidia.Rim.RimDocument.Parse(File.ReadAllBytes(TestVbiosRim), "vbios");
        Assert.Equal(21, driver.Measurements.Count(m => m.Active));
        Assert.Equal(12, vbios.Measurements.Count(m => m.Active));
        Assert.Empty(driver.Measurements.Where(m => m.Active).Select(m => m.Index).Intersect(vbios.Measurements.Where(m => m.Active).Select(m => m.Index)));
    }

    [Fact]
    public async Task Rims_checked_at_todays_date_fail_with_rim_signing_certificate_expired()
    {
        var r = await VerifyAsync(HistoryReport, HistoryChain, TestNoGpuNonce, Today, TestDriverRim, TestVbiosRim);
        Assert.False(r.Combined.Verified);
        var expired = r.Combined.Failures.Where(f => f.Check.EndsWith("[0].validity", StringComparison.Ordinal)).ToList();
        Assert.Equal(["rim.driver.chain[0].validity", "rim.vbios.chain[0].validity"], expired.Select(f => f.Check).Order());
        Assert.All(expired, f => Assert.Matches(@"^RIM signing certificate 'HCC RIM L4 Signer' expired: valid until 2025-06-2\dT[0-9:]+Z, now 2026-11-21T00:00:00Z$", f.Actual));
        Assert.Equal(false, r.Combined.Claims["nvidia.measurements_match"]);
        // The device evidence itself is still genuine: only the RIM step fails.
        Assert.DoesNotContain(r.Combined.Failures, f => f.Check.StartsWith("device_chain", StringComparison.Ordinal) || f.Check.StartsWith("report.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Current_sample_with_the_test_nonce_is_a_nonce_mismatch_and_fwid_matches_the_leaf()
    {
        var r = await VerifyAsync(SampleReport, SampleChain, TestNoGpuNonce, RimTime);
        var f = Assert.Single(r.Combined.Failures);
        Assert.Equal("report.nonce", f.Check);
        Assert.Equal(TestNoGpuNonce, f.Expected);
        Assert.Equal(SdkNonce, f.Actual);
        Assert.Equal("f5c384aebb579217a2c66b17ed0f28e6a9b8d639041acd7b4721cec004f7275494ba94bb5cdfdb3055ee051762b1f75d", r.Combined.Claims["nvidia.fwid"]);
        Assert.Equal("550.90.07", r.Combined.Claims["nvidia.driver_version"]);
        Assert.Equal("96.00.9F.00.01", r.Combined.Claims["nvidia.vbios_version"]);
    }

    [Fact]
    public async Task Current_sample_with_the_test_rims_fails_on_versions_and_names_20_mismatching_indices()
    {
        var r = await VerifyAsync(SampleReport, SampleChain, SdkNonce, RimTime, TestDriverRim, TestVbiosRim);
        var checks = r.Combined.Failures.Select(f => f.Check).ToList();
        Assert.Contains("rim.driver.version", checks);
        Assert.Contains("rim.vbios.version", checks);
        var mismatched = (List<string>)r.Combined.Claims["nvidia.mismatched_indices"];
        Assert.Equal(20, mismatched.Count);
        Assert.Equal(mismatched.Select(i => $"measurement[{i}]"), checks.Where(c => c.StartsWith("measurement[", StringComparison.Ordinal)));
        Assert.Equal(false, r.Combined.Claims["nvidia.measurements_match"]);
    }

    [Fact]
    public async Task Blackwell_b200_evidence_verifies_with_its_chain_and_nonce()
    {
        var r = await VerifyAsync(Gpu("blackwellAttestationReport.txt"), Gpu("blackwellCertChain.txt"), SdkNonce, Today);
        Assert.True(r.Combined.Verified, Failures(r));
        var c = r.Combined.Claims;
        Assert.Equal("BLACKWELL", c["nvidia.arch"]);
        Assert.Equal("575.32", c["nvidia.driver_version"]);
        Assert.Equal("97.00.88.00.0F", c["nvidia.vbios_version"]);
        Assert.Equal("GB100 A01 GSP BROM", c["nvidia.hwmodel"]);
        Assert.Equal("474146966256510137525212816567191319424869109849", c["nvidia.ueid"]);
        // No driver/VBIOS RIM is shipped for it: unchecked measurements are a finding, not a pass.
        Assert.Equal(false, c["nvidia.measurements_match"]);
        Assert.Contains((IEnumerable<string>)c["nvidia.findings"], f => f.Contains("NV_GPU_CC_DRIVER_GB100_575.32", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sdk_default_hopper_report_verifies_with_the_ueid_nras_reports()
    {
        var r = await VerifyAsync(Sdk("hopperAttestationReport.txt"), Sdk("hopperCertChain.txt"), "5bb22e377702d4e1e8215a903ba094826b9ac7f731dee1fe8102958bf2840aca", Today);
        Assert.True(r.Combined.Verified, Failures(r));
        Assert.Equal("509096176156678437554566035365892618958504054724", r.Combined.Claims["nvidia.ueid"]);
        Assert.Equal("580.159.03", r.Combined.Claims["nvidia.driver_version"]);
        Assert.Equal("96.00.74.00.20", r.Combined.Claims["nvidia.vbios_version"]);
    }

    [Fact]
    public async Task Eight_gpu_ppcie_list_verifies_as_one_set()
    {
        var first = File.ReadAllText(Nvtrust("ppcie-tests-data", "gpu_evidence.json"));
        var nonce = System.Text.Json.JsonDocument.Parse(first).RootElement[0].GetProperty("nonce").GetString()!;
        var r = await VerifyAsync(Nvtrust("ppcie-tests-data", "gpu_evidence.json"), null, nonce, Today);
        Assert.True(r.Combined.Verified, Failures(r));
        Assert.Equal(8, r.Devices.Count);
        Assert.All(r.Devices, d => Assert.True(d.Verified));
        var c = r.Combined.Claims;
        Assert.Equal(8L, c["nvidia.set.gpu_count"]);
        Assert.Equal(0L, c["nvidia.set.switch_count"]);
        Assert.Equal(true, c["nvidia.set.cc_mode"]);
        Assert.Equal(true, c["nvidia.set.ppcie_mode"]);
        Assert.Equal("590.12", c["gpu7.nvidia.driver_version"]);
        Assert.Equal("96.00.A5.00.01", c["gpu0.nvidia.vbios_version"]);
    }

    [Theory]
    [InlineData("nvtrust", "switch_evidence.json", 4)]
    [InlineData("sdk", "switch_evidence_ls10.json", 1)]
    public async Task NvSwitch_lists_verify_with_their_own_chain(string source, string file, int count)
    {
        var path = source == "nvtrust" ? Nvtrust("ppcie-tests-data", file) : SdkCommon(file);
        var r = await VerifyAsync(path, null, null, Today);
        Assert.True(r.Combined.Verified, Failures(r));
        Assert.Equal((long)count, r.Combined.Claims["nvidia.set.switch_count"]);
        Assert.All(r.Devices, d => Assert.Equal("LS10", d.Claims["nvidia.arch"]));
        Assert.All(r.Devices, d => Assert.Equal("switch", d.Claims["nvidia.device_kind"]));
    }

    [Fact]
    public async Task The_same_switch_listed_four_times_is_refused_as_a_duplicate_device()
    {
        // attestation-sdk's multi_switch_ls10.json repeats one switch's evidence four times: counting it as
        // four switches would let one device stand in for a fabric.
        var r = await VerifyAsync(SdkCommon("multi_switch_ls10.json"), null, null, Today);
        Assert.All(r.Devices, d => Assert.True(d.Verified));
        Assert.Equal(["switch1.set.duplicate_device", "switch2.set.duplicate_device", "switch3.set.duplicate_device"], r.Combined.Failures.Select(f => f.Check));
    }

    [Theory]
    [InlineData("hopper_evidence.json", 1)]
    [InlineData("multi_gpu_hopper.json", 4)]
    [InlineData("hopper_evidence_cert_hold.json", 1)]
    public async Task Sdk_serialized_gpu_evidence_verifies(string file, int count)
    {
        var r = await VerifyAsync(SdkCommon(file), null, null, Today);
        Assert.True(r.Combined.Verified, Failures(r));
        Assert.Equal(count, r.Devices.Count);
    }

    [Fact]
    public async Task Sdk_sample_report_with_zero_nonce_is_a_nonce_mismatch()
    {
        var r = await VerifyAsync(Gpu("hopperAttestationReport.txt"), Gpu("hopperCertChain.txt"), new string('0', 64), Today);
        Assert.Equal("report.nonce", Assert.Single(r.Combined.Failures).Check);
    }

    [Fact]
    public async Task Tampered_signature_report_is_an_invalid_signature()
    {
        var r = await VerifyAsync(Gpu("hopperAttestationReportInvalidSignature.txt"), Gpu("hopperCertChainExpired.txt"), SdkNonce, Today);
        Assert.Contains(r.Combined.Failures, f => f.Check == "report.signature");
        Assert.Equal(false, r.Combined.Claims["nvidia.cc_mode"]);
    }

    [Fact]
    public async Task Edited_rims_give_a_measurement_mismatch_naming_the_indices()
    {
        var r = await VerifyAsync(Gpu("hopperAttestationReport.txt"), Gpu("hopperCertChain.txt"), "27a328247bf7935c993341cf587be6f05986ccce4fe7ba2c54100bd616a58f66",
            DateTimeOffset.Parse("2025-06-01T00:00:00Z"),
            Sdk("sample_rims", "NV_GPU_DRIVER_GH100_535.86.09_measurement_mismatch.xml"),
            Sdk("sample_rims", "NV_GPU_VBIOS_1010_0200_882_96005E0001_measurement_mismatch.xml"));
        Assert.False(r.Combined.Verified);
        var mismatched = (List<string>)r.Combined.Claims["nvidia.mismatched_indices"];
        Assert.Equal(16, mismatched.Count); // 15 driver + 1 VBIOS (index 9), as the MANIFEST re-check found
        Assert.Contains("9", mismatched);
        Assert.Contains(r.Combined.Failures, f => f.Check == "measurement[9]" && f.Expected!.StartsWith("vbios RIM: ", StringComparison.Ordinal));
        // The edited driver RIM's own signature no longer verifies; the genuine VBIOS one does.
        Assert.Contains(r.Combined.Failures, f => f.Check == "rim.driver.signature");
        Assert.DoesNotContain(r.Combined.Failures, f => f.Check == "rim.vbios.signature");
    }

    [Fact]
    public async Task Sdk_sample_report_matches_all_12_measurements_of_the_genuine_prod_vbios_rim()
    {
        var r = await VerifyAsync(Gpu("hopperAttestationReport.txt"), Gpu("hopperCertChain.txt"), "27a328247bf7935c993341cf587be6f05986ccce4fe7ba2c54100bd616a58f66",
            DateTimeOffset.Parse("2024-06-01T00:00:00Z"), Nvtrust("local_gpu_verifier-samples", "1010_0200_882_96005E0001_PROD.swidtag"));
        Assert.True(r.Combined.Verified, Failures(r));
        Assert.Empty((List<string>)r.Combined.Claims["nvidia.mismatched_indices"]);
        // The driver RIM is missing, so the device is not called a full match.
        Assert.Equal(false, r.Combined.Claims["nvidia.measurements_match"]);
    }

    [Fact]
    public async Task Expired_driver_rim_reports_its_signing_certificate_expired()
    {
        var r = await VerifyAsync(Gpu("hopperAttestationReportExpired.txt"), Gpu("hopperCertChainExpired.txt"), SdkNonce, Rim550Time,
            Sdk("sample_rims", "NV_GPU_DRIVER_GH100_570.124.03_expired.xml"));
        Assert.Contains(r.Combined.Failures, f => f.Check == "rim.driver.chain[0].validity" && f.Actual!.Contains("RIM signing certificate 'RIM L4 Signer' expired", StringComparison.Ordinal));
        Assert.DoesNotContain(r.Combined.Failures, f => f.Check.StartsWith("device_chain", StringComparison.Ordinal) || f.Check.StartsWith("report.", StringComparison.Ordinal));
    }
}

/// <summary>Trustee's NVIDIA verifier vectors: its CoCo CI capture and its certificate-chain negatives.</summary>
public sealed class NvidiaTrusteeVectorTests
{
    private static string T(string file) => Veil.Tests.Shared.Vectors.Path("trustee", "deps", "verifier", "test_data", "nvidia", file);

    [Fact]
    public async Task CoCo_ci_capture_verifies_with_its_spdm_nonce()
    {
        var r = await VerifyAsync(T("hopper_coco_report1.txt"), T("hopper_coco_certs1.txt"), "87d8e24ab336adafe228d49e83d745f6dba4ae505372b6a5704820856b343fec", Today);
        Assert.True(r.Combined.Verified, Failures(r));
        // The capture ends in one byte after the signature: kept out of the signed bytes and reported.
        Assert.Contains("report: 1 unsigned bytes after the signature, ignored", (IEnumerable<string>)r.Combined.Claims["nvidia.findings"]);
    }

    [Fact]
    public async Task Trustee_sample_verifies_with_case1_chain()
    {
        var r = await VerifyAsync(T("hopperAttestationReport.txt"), T("hopper_cert_chain_case1.txt"), SdkNonce, Today);
        Assert.True(r.Combined.Verified, Failures(r));
        Assert.Equal("f5c384aebb579217a2c66b17ed0f28e6a9b8d639041acd7b4721cec004f7275494ba94bb5cdfdb3055ee051762b1f75d", r.Combined.Claims["nvidia.fwid"]);
    }

    [Theory]
    [InlineData("hopper_cert_chain_case2.txt", "device_chain.length")]
    [InlineData("hopper_cert_chain_case3.txt", "device_chain[")]
    [InlineData("hopper_cert_chain_case4.txt", "report.fwid")]
    public async Task Trustee_chain_negatives_fail_with_a_named_check(string chain, string check)
    {
        var r = await VerifyAsync(T("hopperAttestationReport.txt"), T(chain), SdkNonce, Today);
        Assert.False(r.Combined.Verified);
        Assert.Contains(r.Combined.Failures, f => f.Check.StartsWith(check, StringComparison.Ordinal));
    }
}

/// <summary>The evidence shape Trustee's nvidia attester sends (guest-components NvDeviceEvidence), built from a real report.</summary>
public sealed class NvidiaTrusteeEvidenceShapeTests
{
    [Fact]
    public async Task Device_evidence_list_with_trustees_field_names_verifies()
    {
        var report = Convert.ToBase64String(NvidiaEvidence.Parse(File.ReadAllBytes(SampleReport)).Devices[0].Report.Raw.Span);
        var chain = Convert.ToBase64String(File.ReadAllBytes(SampleChain));
        var json = $"{{\"device_evidence_list\": [{{\"arch\": \"Hopper\", \"uuid\": \"GPU-0\", \"evidence\": \"{report}\", \"certificate\": \"{chain}\"}}]}}";
        var r = await Verifier(Today).VerifyAsync(System.Text.Encoding.UTF8.GetBytes(json), null, Hex.Parse(SdkNonce, "nonce"));
        Assert.True(r.Combined.Verified, Failures(r));
        Assert.Equal("HOPPER", r.Combined.Claims["nvidia.arch"]);

        // An attester that says Blackwell for a Hopper chain is caught.
        var wrong = await Verifier(Today).VerifyAsync(System.Text.Encoding.UTF8.GetBytes(json.Replace("\"Hopper\"", "\"Blackwell\"", StringComparison.Ordinal)), null, Hex.Parse(SdkNonce, "nonce"));
        Assert.Equal("evidence.arch", Assert.Single(wrong.Combined.Failures).Check);
    }
}
