using System.Text.Json.Nodes;
using Veil.Attestation.AzureVtpm;
using static Veil.Attestation.Tests.AzureVtpm.AzureVectors;

namespace Veil.Attestation.Tests.AzureVtpm;

/// <summary>Every outcome testdata/vectors/trustee/MANIFEST.md states for the az-snp-vtpm and az-tdx-vtpm vectors, offline, time pinned.</summary>
public class AzureVtpmVectorTests
{
    public static TheoryData<string, string, string, string> SnpDocuments => new()
    {
        // file, report data (hex), expected pcr00, expected snp.product
        { "evidence-v0.json", "6368616c6c656e6765", "e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced", "Milan" },
        { "evidence-v1.json", "6368616c6c656e6765", "e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced", "Milan" },
        { "evidence-v2.json", Convert.ToHexStringLower(V2ReportData), "84275b2f4312cd4fc6cbe6b152ad3c3683e513d9f1e23c34fca160c8cca7a6a7", "Milan" },
        { "evidence-genoa.json", Convert.ToHexStringLower(GenoaReportData), "afd689d0bb1c5f36f023fbaf574135f555a28a10c1f6b938d2a25e70c7783338", "Genoa" },
    };

    [Theory]
    [MemberData(nameof(SnpDocuments))]
    public async Task Snp_evidence_documents_verify_with_the_report_data_trustee_passes(string file, string reportData, string pcr00, string product)
    {
        var result = await SnpVerifier().VerifyAsync(SnpFile(file), Convert.FromHexString(reportData));

        Assert.True(result.Verified, Checks(result));
        Assert.Equal("az-snp-vtpm", result.Tee);
        Assert.Equal(reportData, result.Claims["az.report_data"]);
        Assert.Equal(pcr00, result.Claims["tpm.pcr00"]);
        Assert.Equal(product, result.Claims["snp.product"]);
        Assert.Equal("snp", result.Claims["az.hcl.report_type"]);
        Assert.Equal(0L, result.Claims["snp.vmpl"]);
        Assert.Equal(true, result.Claims["az.vm_configuration.secure_boot"]);
        Assert.Equal(24, result.Claims.Keys.Count(k => k.StartsWith("tpm.pcr", StringComparison.Ordinal) && k != "tpm.pcr_bank"));
    }

    [Fact]
    public async Task V2_binds_the_report_data_in_the_hcl_user_data_and_refuses_another()
    {
        var good = await SnpVerifier().VerifyAsync(SnpFile("evidence-v2.json"), V2ReportData);
        Assert.True(good.Verified, Checks(good));
        Assert.StartsWith(Convert.ToHexStringLower(V2ReportData), (string)good.Claims["az.user_data"], StringComparison.Ordinal);
        Assert.Equal(2L, good.Claims["az.evidence_version"]);

        // Trustee test_verify_user_data: '123abc' is refused ("User-data in HCL variable data doesn't match report_data").
        var bad = await SnpVerifier().VerifyAsync(SnpFile("evidence-v2.json"), Convert.FromHexString("123abc"));
        Assert.Contains(bad.Failures, f => f.Check == "hcl.user_data");
        Assert.Contains(bad.Failures, f => f.Check == "tpm_quote.report_data");
    }

    [Fact]
    public async Task V1_evidence_relabelled_v2_is_refused_because_its_user_data_is_zero()
    {
        var doc = Json(SnpFile("evidence-v1.json"));
        doc["version"] = 2;
        var result = await SnpVerifier().VerifyAsync(Encode(doc), Challenge);
        Assert.Equal("hcl.user_data", Assert.Single(result.Failures).Check);
    }

    [Fact]
    public async Task The_separate_hcl_report_quote_and_vcek_vectors_verify_together()
    {
        var result = await SnpVerifier().VerifyAsync(ComposedSnp(), Challenge);

        Assert.True(result.Verified, Checks(result));
        Assert.Equal(2L, result.Claims["snp.version"]);
        Assert.Equal("f3a7e99a5f819a034386bce753a48a73cfdaa0bea0ecfc124bedbf5a8c4799be", result.Claims["tpm.pcr00"]);
    }

    [Fact]
    public async Task Hcl_report_edits_of_the_manifest_fail_with_their_named_checks()
    {
        // 0x06e0 + 1: "SNP report report_data mismatch" (SHA-256 of the variable data no longer in REPORT_DATA).
        var digest = await SnpVerifier().VerifyAsync(ComposedSnp(editReport: r => Edit(r, 0x06e0, b => (byte)(b + 1))), Challenge);
        Assert.Contains(digest.Failures, f => f.Check == "hcl.var_data_digest");

        // 0x01a6 = 0: "SNP version mismatch" against vcek.pem (reported TCB's SNP SVN differs from the VCEK's).
        var tcb = await SnpVerifier().VerifyAsync(ComposedSnp(editReport: r => Edit(r, 0x01a6, _ => 0)), Challenge);
        Assert.Contains(tcb.Failures, f => f.Check == "snp.vcek.tcb.snp");
        Assert.Contains(tcb.Failures, f => f.Check == "snp.report.signature");

        // 0x0540 = 0: "Failed to get AKpub".
        var ak = await SnpVerifier().VerifyAsync(ComposedSnp(editReport: r => Edit(r, 0x0540, _ => 0)), Challenge);
        Assert.Contains(ak.Failures, f => f.Check == "hcl.ak_pub");
        Assert.Contains(ak.Failures, f => f.Check == "hcl.var_data_digest");
    }

    [Fact]
    public async Task Tpm_quote_edits_of_the_manifest_fail_with_their_named_checks()
    {
        // Flip sig[0]: not signed by the AK.
        var sig = await SnpVerifier().VerifyAsync(ComposedSnp(editQuote: q => EditQuote(q, (s, m, p) => (Edit(s, 0, b => (byte)(b ^ 1)), m, p))), Challenge);
        Assert.Equal("tpm_quote.signature", Assert.Single(sig.Failures).Check);

        // Reversed nonce: extraData differs.
        var nonce = await SnpVerifier().VerifyAsync(ComposedSnp(), Challenge.Reverse().ToArray());
        var f = Assert.Single(nonce.Failures);
        Assert.Equal(("tpm_quote.report_data", "egnellahc", "6368616c6c656e6765"), (f.Check, System.Text.Encoding.ASCII.GetString(Convert.FromHexString(f.Expected!)), f.Actual));

        // Flip pcr[0][0]: the digest of the supplied PCRs is not the quoted one.
        var pcr = await SnpVerifier().VerifyAsync(ComposedSnp(editQuote: q => EditQuote(q, (s, m, p) => (s, m, [Edit(p[0], 0, b => (byte)(b ^ 1)), .. p.Skip(1)]))), Challenge);
        Assert.Equal("tpm_quote.pcr_digest", Assert.Single(pcr.Failures).Check);
    }

    [Fact]
    public async Task Init_data_is_bound_through_pcr8_as_trustee_computes_it()
    {
        // Trustee test_verify_init_data: sha256(0^32 || 8505e4e2…7781) == bddaccb9…dfdd.
        var digest = Convert.FromHexString("8505e4e25e50a27c5dc8147af88efbece627fbea55291911eff832d9ee127781");
        Assert.Equal("bddaccb9c52249e97a31baea61b7d91be8221a16e703d92148d04fb8e9c1dfdd", Convert.ToHexStringLower(VtpmQuoteChecks.ExpectedInitDataPcr(digest)));

        // The vector's PCR 8 was never extended (zero), so any init-data digest is refused by name.
        var result = await SnpVerifier().VerifyAsync(ComposedSnp(), Challenge, digest);
        var f = Assert.Single(result.Failures);
        Assert.Equal(("init_data.pcr08", new string('0', 64)), (f.Check, f.Actual));

        var wrongLength = await SnpVerifier().VerifyAsync(ComposedSnp(), Challenge, new byte[48]);
        Assert.Equal("init_data.digest", Assert.Single(wrongLength.Failures).Check);
    }

    [Fact]
    public async Task A_report_from_another_vm_is_refused_with_the_quote()
    {
        // v1's quote is genuine but signed by another VM's AK than the one in hcl-report.bin.
        var v1 = Json(SnpFile("evidence-v1.json"));
        var mixed = SnpV1(SnpFile("hcl-report.bin"), v1["tpm_quote"]!.AsObject().DeepClone().AsObject(), MilanVcekDer());
        var result = await SnpVerifier().VerifyAsync(mixed, Challenge);
        Assert.Equal("tpm_quote.signature", Assert.Single(result.Failures).Check);
    }

    [Fact]
    public async Task Without_a_vcek_anywhere_the_snp_part_fails_by_name()
    {
        var doc = Json(SnpFile("evidence-v1.json"));
        doc.Remove("vcek");
        var result = await SnpVerifier().VerifyAsync(Encode(doc), Challenge);
        Assert.Equal("snp.collateral.vcek", Assert.Single(result.Failures).Check);
    }

    [Fact]
    public async Task Time_pinned_after_the_vcek_expired_fails_its_validity()
    {
        var result = await SnpVerifier(DateTimeOffset.Parse("2033-01-01T00:00:00Z")).VerifyAsync(SnpFile("evidence-v1.json"), Challenge);
        Assert.Contains(result.Failures, f => f.Check == "snp.vcek.validity");
    }

    public static TheoryData<string> TdxDocuments => new() { "evidence-v0.json", "evidence-v1.json" };

    [Theory]
    [MemberData(nameof(TdxDocuments))]
    public async Task Tdx_evidence_verifies_offline_except_the_intel_collateral_the_vectors_lack(string file)
    {
        // Trustee's test_evaluate needs Intel PCS collateral (#[ignore]); offline, the only failure is its absence ...
        var strict = await TdxVerifier(requireCollateral: true).VerifyAsync(TdxFile(file), Challenge);
        Assert.Equal("tdx.collateral", Assert.Single(strict.Failures).Check);

        // ... and with signatures and the PCK chain only (veil verify ... --no-collateral) it verifies.
        var result = await TdxVerifier(requireCollateral: false).VerifyAsync(TdxFile(file), Challenge);
        Assert.True(result.Verified, Checks(result));
        Assert.Equal("az-tdx-vtpm", result.Tee);
        Assert.Equal("6368616c6c656e6765", result.Claims["az.report_data"]);
        Assert.Equal("782b20b10f55cc46e2142cc2145d548698073e5beb82752c8d7f9279f0d8a273", result.Claims["tpm.pcr00"]);
        Assert.Equal("tdx", result.Claims["az.hcl.report_type"]);
        Assert.Equal("00806f050000", result.Claims["tdx.fmspc"]);
        Assert.False(result.Claims.ContainsKey("tdx.tcb_status"));
    }

    [Fact]
    public async Task Tdx_parts_verify_together_and_their_manifest_edits_fail_by_name()
    {
        Assert.True((await TdxVerifier(false).VerifyAsync(ComposedTdx(), Challenge)).Verified);

        // 0x0880 + 1: "TDX Quote report data mismatch".
        var digest = await TdxVerifier(false).VerifyAsync(ComposedTdx(editReport: r => Edit(r, 0x0880, b => (byte)(b + 1))), Challenge);
        Assert.Contains(digest.Failures, f => f.Check == "hcl.var_data_digest");

        var sig = await TdxVerifier(false).VerifyAsync(ComposedTdx(editQuote: q => EditQuote(q, (s, m, p) => (Edit(s, 0, b => (byte)(b ^ 1)), m, p))), Challenge);
        Assert.Equal("tpm_quote.signature", Assert.Single(sig.Failures).Check);
        var nonce = await TdxVerifier(false).VerifyAsync(ComposedTdx(), Challenge.Reverse().ToArray());
        Assert.Equal("tpm_quote.report_data", Assert.Single(nonce.Failures).Check);
        var pcr = await TdxVerifier(false).VerifyAsync(ComposedTdx(editQuote: q => EditQuote(q, (s, m, p) => (s, m, [Edit(p[0], 0, b => (byte)(b ^ 1)), .. p.Skip(1)]))), Challenge);
        Assert.Equal("tpm_quote.pcr_digest", Assert.Single(pcr.Failures).Check);

        // The TD report the HCL carries must be the one that was quoted.
        var mrtd = await TdxVerifier(false).VerifyAsync(ComposedTdx(editReport: r => Edit(r, HclReport.HeaderLength + 528, b => (byte)(b ^ 1))), Challenge);
        Assert.Equal("hcl.td_report.mr_td", Assert.Single(mrtd.Failures).Check);
    }

    [Fact]
    public async Task The_wrong_kind_of_hcl_report_is_a_named_format_error()
    {
        var tdxInSnp = SnpV1(TdxFile("hcl-report.bin"), Json(TdxFile("tpm-quote-v1.json")), MilanVcekDer());
        var e = await Assert.ThrowsAsync<EvidenceFormatException>(() => SnpVerifier().VerifyAsync(tdxInSnp, Challenge));
        Assert.Equal("hcl_report.request_data.report_type", e.Field);
    }

    internal static byte[] Edit(byte[] bytes, int offset, Func<byte, byte> change)
    {
        var copy = (byte[])bytes.Clone();
        copy[offset] = change(copy[offset]);
        return copy;
    }

    internal static JsonObject EditQuote(JsonObject quote, Func<byte[], byte[], List<byte[]>, (byte[], byte[], List<byte[]>)> edit)
    {
        var (s, m, p) = QuoteParts(quote);
        var (s2, m2, p2) = edit(s, m, p);
        return Quote(s2, m2, p2);
    }
}
