using System.Security.Cryptography.X509Certificates;
using Veil.Attestation.Collateral;
using Veil.Attestation.Snp;
using static Veil.Attestation.Tests.Snp.SnpVectorCases;

namespace Veil.Attestation.Tests.Snp;

/// <summary>Each real vector gives the outcome its MANIFEST.md states, at the time it pins.</summary>
public class SnpVectorTests
{
    [Theory]
    [MemberData(nameof(SnpVectorCases.Names), MemberType = typeof(SnpVectorCases))]
    public async Task Every_real_report_verifies_at_its_pinned_time(string name)
    {
        AssertVerified(await ByName(name).VerifyAsync());
    }

    [Fact]
    public async Task Go_sev_guest_report_decodes_as_its_manifest_states_and_debug_is_reported_not_rejected()
    {
        var c = (await GoSevGuest().VerifyAsync()).Claims;
        Assert.Equal(2L, c["snp.version"]);
        Assert.Equal("0x00000000000b0000", c["snp.policy"]);
        Assert.Equal(true, c["snp.policy.debug"]);
        Assert.Equal(true, c["snp.policy.smt"]);
        Assert.Equal(false, c["snp.policy.migrate_ma"]);
        Assert.Equal("Milan", c["snp.product"]);
        Assert.Equal("vcek", c["snp.signer"]);
        Assert.Equal(2L, c["snp.reported_tcb.bootloader"]);
        Assert.Equal(0L, c["snp.reported_tcb.tee"]);
        Assert.Equal(5L, c["snp.reported_tcb.snp"]);
        Assert.Equal(68L, c["snp.reported_tcb.microcode"]);
        Assert.False(c.ContainsKey("snp.reported_tcb.fmc"));
        Assert.Equal("0102030405" + new string('0', 118), c["snp.report_data"]);
        Assert.Equal("b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01", c["snp.measurement"]);
        Assert.Equal("8edc638e1857c555d21f6b11bda3c8b1b5a09dba4852b4c8ee7aa2f16f22cc0a", c["snp.report_id"]);
        Assert.Equal(new string('f', 64), c["snp.report_id_ma"]);
        Assert.Equal("1.49.3", c["snp.current_version"]);
        Assert.Equal(true, c["snp.platform_info.smt_enabled"]);
        Assert.Equal(false, c["snp.platform_info.tsme_enabled"]);
        Assert.False(c.ContainsKey("snp.cpuid.family"));
    }

    [Fact]
    public async Task Virtee_report_decodes_as_its_manifest_states()
    {
        var c = (await Virtee().VerifyAsync()).Claims;
        Assert.Equal("0x0000000000030000", c["snp.policy"]);
        Assert.Equal(false, c["snp.policy.debug"]);
        Assert.Equal(3L, c["snp.reported_tcb.bootloader"]);
        Assert.Equal(8L, c["snp.reported_tcb.snp"]);
        Assert.Equal(115L, c["snp.reported_tcb.microcode"]);
        Assert.Equal("1.52.4", c["snp.current_version"]);
        Assert.Equal("7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f", c["snp.measurement"]);
    }

    [Theory]
    [InlineData("milan", 3L, "Milan", 4L, 0L, 24L, 219L, null, "1.55.29", 0x25L)]
    [InlineData("genoa", 3L, "Genoa", 10L, 0L, 23L, 84L, null, "1.55.40", 0x27L)]
    [InlineData("turin", 5L, "Turin", 1L, 1L, 4L, 81L, 1L, "1.55.65", 0x65L)]
    public async Task Microsoft_reports_decode_per_generation(string gen, long version, string product, long bl, long tee, long snp, long ucode, long? fmc, string fw, long platformInfo)
    {
        var c = (await Ms(gen).VerifyAsync()).Claims;
        Assert.Equal(version, c["snp.version"]);
        Assert.Equal(product, c["snp.product"]);
        Assert.Equal(bl, c["snp.reported_tcb.bootloader"]);
        Assert.Equal(tee, c["snp.reported_tcb.tee"]);
        Assert.Equal(snp, c["snp.reported_tcb.snp"]);
        Assert.Equal(ucode, c["snp.reported_tcb.microcode"]);
        Assert.Equal(fmc, c.TryGetValue("snp.reported_tcb.fmc", out var f) ? (long?)f : null);
        Assert.Equal(fw, c["snp.current_version"]);
        Assert.Equal((platformInfo & 1) != 0, c["snp.platform_info.smt_enabled"]);
        Assert.Equal((platformInfo & 4) != 0, c["snp.platform_info.ecc_enabled"]);
        Assert.Equal((platformInfo & 0x20) != 0, c["snp.platform_info.alias_check_complete"]);
        Assert.Equal(31L, c["snp.policy.abi_minor"]);
        Assert.Equal(new string('0', 128), c["snp.report_data"]);
        if (gen == "turin")
        {
            Assert.Equal("0x000000000000003f", c["snp.launch_mit_vector"]);
            Assert.Equal("0x000000000000003f", c["snp.current_mit_vector"]);
            Assert.StartsWith("59790fb1c39f35c1" + new string('0', 16), (string)c["snp.chip_id"]);
        }
        else
        {
            Assert.False(c.ContainsKey("snp.launch_mit_vector"));
        }
    }

    [Fact]
    public async Task Trustee_json_evidence_verifies_with_its_embedded_vcek_and_checks_report_data()
    {
        var json = TrusteeEvidenceJson();
        var ok = await json.VerifyAsync();
        Assert.Equal("Genoa", ok.Claims["snp.product"]);
        Assert.Equal(0L, ok.Claims["snp.vmpl"]);
        var reportData = Hex.Parse((string)ok.Claims["snp.report_data"], "x");
        Assert.StartsWith("7e7320", (string)ok.Claims["snp.report_data"]);
        AssertVerified(await json.VerifyAsync(reportData: reportData));

        var other = (byte[])reportData.Clone();
        other[63] ^= 1;
        var mismatch = await json.VerifyAsync(reportData: other);
        var f = AssertFailed(mismatch, "report.report_data");
        Assert.Equal(Hex.Lower(other), f.Expected);
        Assert.Single(mismatch.Failures);
    }

    [Fact]
    public async Task Vlek_signed_report_is_recognised_and_rejected_against_a_vcek()
    {
        var vlek = await TrusteeVlek().VerifyAsync();
        Assert.Equal("vlek", vlek.Claims["snp.signer"]);
        Assert.Equal(1L, vlek.Claims["snp.vmpl"]);

        var wrong = TrusteeVlek() with { Leaf = TrusteeVcek().Leaf };
        AssertFailed(await wrong.VerifyAsync(), "signer.type");
    }

    [Fact]
    public async Task Ask_given_as_root_is_refused_as_not_the_pinned_ark()
    {
        var ms = Ms("milan");
        var asAsRoot = ms with { Chain = [ms.Chain[0], ms.Chain[0]] };
        var f = AssertFailed(await asAsRoot.VerifyAsync(), "ark.pinned");
        Assert.Contains(Certificates.Sha256Fingerprint(AmdRoots.For(SnpProduct.Milan).Ark), f.Expected, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Milan_report_with_the_genoa_ask_fails_the_chain()
    {
        var withGenoaAsk = Ms("milan") with { Chain = Ms("genoa").Chain };
        var result = await withGenoaAsk.VerifyAsync();
        AssertFailed(result, "ask.signature");
        AssertFailed(result, "vcek.signature");
    }

    [Fact]
    public async Task Milan_vcek_under_the_genoa_ark_fails_the_chain()
    {
        // go-sev-guest's report is v2 (no CPUID): the product comes from the VCEK, so the Genoa ARK is foreign.
        var genoa = AmdRoots.For(SnpProduct.Genoa);
        var underGenoa = GoSevGuest() with { Chain = [genoa.Ask, genoa.Ark] };
        AssertFailed(await underGenoa.VerifyAsync(), "ark.pinned");

        // And the certificate signatures themselves do not verify across product lines.
        Assert.NotNull(CertificateSignature.Verify(GoSevGuest().Leaf!, genoa.Ask));
        Assert.NotNull(CertificateSignature.Verify(AmdRoots.For(SnpProduct.Milan).Ask, genoa.Ark));
    }

    [Fact]
    public async Task Tampered_report_byte_fails_the_signature()
    {
        var ms = Ms("milan");
        var tampered = (byte[])ms.Evidence.Clone();
        tampered[100] ^= 0xFF;
        var result = await ms.VerifyAsync(tampered);
        AssertFailed(result, "report.signature");
        Assert.Single(result.Failures);
    }

    [Fact]
    public async Task Virtee_negative_cases_fail_as_its_tests_state()
    {
        var v = Virtee();
        var vcek = v.Leaf!.RawData;
        vcek[40] ^= 0xFF;
        var badVcek = v with { Leaf = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(vcek) };
        AssertFailed(await badVcek.VerifyAsync(), "vcek.signature");

        var report = Convert.FromHexString(System.Text.Encoding.ASCII.GetString(v.Evidence).Trim());
        report[21] ^= 0x80;
        AssertFailed(await v.VerifyAsync(report), "report.signature");
    }

    [Fact]
    public async Task Trustee_corruptions_fail_signature_and_tcb()
    {
        var t = TrusteeVcek();
        var sig = (byte[])t.Evidence.Clone();
        sig[42] += 1;
        AssertFailed(await t.VerifyAsync(sig), "report.signature");

        var tcb = (byte[])t.Evidence.Clone();
        tcb[384] += 1;
        var result = await t.VerifyAsync(tcb);
        AssertFailed(result, "vcek.tcb.bootloader");
        AssertFailed(result, "report.signature");
    }

    [Fact]
    public async Task Vcek_of_another_chip_fails_the_hwid_check()
    {
        var foreign = Ms("milan") with { Leaf = GoSevGuest().Leaf };
        var result = await foreign.VerifyAsync();
        var f = AssertFailed(result, "vcek.hwid");
        Assert.StartsWith("4ffb5cb4", f.Expected, StringComparison.Ordinal);
        Assert.StartsWith("3ac3fe21", f.Actual, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2033-02-06T00:00:00Z", "vcek.validity", "expired")]
    [InlineData("2026-02-01T00:00:00Z", "vcek.validity", "not yet valid")]
    [InlineData("2019-01-01T00:00:00Z", "ark.validity", "not yet valid")]
    public async Task Certificates_outside_their_validity_at_the_pinned_time_fail(string at, string check, string why)
    {
        var f = AssertFailed(await Ms("milan").VerifyAsync(at: DateTimeOffset.Parse(at)), check);
        Assert.Contains(why, f.Actual, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_vcek_is_a_named_failure()
    {
        var none = Ms("genoa") with { Leaf = null };
        AssertFailed(await none.VerifyAsync(), "collateral.vcek");
    }

    [Fact]
    public void Vcek_extensions_decode_in_both_layouts_and_both_hwid_encodings()
    {
        var turin = SnpSigningCertificate.From(Cert("virtee-sev", "tests-certs_data", "vcek_turin.der"), "vcek");
        Assert.Equal("Turin", turin.ProductName);
        Assert.Equal(0L, turin.FmcSpl);
        Assert.Equal(9L, turin.UcodeSpl);
        Assert.Equal("1e550a8ee5cf9f4d", Hex.Lower(turin.HwId!.Value.Span));
        Assert.Null(CertificateSignature.Verify(turin.Certificate, AmdRoots.For(SnpProduct.Turin).Ask));

        var legacy = SnpSigningCertificate.From(Cert("trustee", "deps", "verifier", "test_data", "snp", "test-vcek-invalid-legacy.der"), "vcek");
        var wrapped = SnpSigningCertificate.From(Cert("trustee", "deps", "verifier", "test_data", "snp", "test-vcek-invalid-new.der"), "vcek");
        Assert.Equal(64, legacy.HwId!.Value.Length);
        Assert.Equal(64, wrapped.HwId!.Value.Length);

        var vlek = SnpSigningCertificate.From(TrusteeVlek().Leaf!, "vlek");
        Assert.Equal(SnpSigningKey.Vlek, vlek.Kind);
        Assert.Null(vlek.HwId);
    }

    [Fact]
    public void Embedded_roots_self_verify_and_sign_their_cas()
    {
        foreach (var product in Enum.GetValues<SnpProduct>())
        {
            var r = AmdRoots.For(product);
            Assert.Null(CertificateSignature.Verify(r.Ark, r.Ark));
            Assert.Null(CertificateSignature.Verify(r.Ask, r.Ark));
            Assert.Null(CertificateSignature.Verify(r.Asvk, r.Ark));
            Assert.Equal(4096, r.Ark.GetRSAPublicKey()!.KeySize);
        }

        var genoaVcek = Cert("trustee", "deps", "verifier", "test_data", "az-snp-vtpm", "vcek-genoa.pem");
        Assert.Null(CertificateSignature.Verify(genoaVcek, AmdRoots.For(SnpProduct.Genoa).Ask));
    }

    [Fact]
    public async Task Second_report_from_the_same_chip_reuses_the_verified_chain_but_still_checks_validity()
    {
        var ms = Ms("genoa");
        var clock = new SettableClock(ms.At);
        var verifier = new SnpVerifier(SnpCollateralSources.Files(ms.Leaf, ms.Chain), clock);
        AssertVerified(await verifier.VerifyAsync(ms.Evidence, null));
        var tampered = (byte[])ms.Evidence.Clone();
        tampered[0x90] ^= 1;
        AssertFailed(await verifier.VerifyAsync(tampered, null), "report.signature");
        AssertVerified(await verifier.VerifyAsync(ms.Evidence, null));

        clock.Now = DateTimeOffset.Parse("2034-01-01T00:00:00Z");
        AssertFailed(await verifier.VerifyAsync(ms.Evidence, null), "vcek.validity");
    }

    private sealed class SettableClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
