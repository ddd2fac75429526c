using Veil.Attestation.Tdx;
using Veil.Tests.Shared;
using static Veil.Attestation.Tests.Tdx.TdxVectorCases;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.Tests.Tdx;

/// <summary>Every TDX vector gives the outcome its MANIFEST states, at the pinned time.</summary>
public class TdxVectorTests
{
    [Fact]
    public async Task Dcap_qvl_tdx_quote_is_UpToDate_with_no_advisories()
    {
        var result = await DcapTdx().VerifyAsync();
        AssertVerified(result);
        var c = result.Claims;
        Assert.Equal("UpToDate", c["tdx.tcb_status"]);
        Assert.Empty((IReadOnlyList<string>)c["tdx.advisory_ids"]);
        Assert.Equal(4L, c["tdx.version"]);
        Assert.Equal("b0c06f000000", c["tdx.fmspc"]);
        Assert.Equal("91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7", c["tdx.mr_td"]);
        Assert.Equal("5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab58c7d5ecee41d7c436489d6c8e4f92f160b7cad34207b00c1", c["tdx.mr_seam"]);
        Assert.Equal("06010300000000000000000000000000", c["tdx.tee_tcb_svn"]);
        Assert.Equal("0000001000000000", c["tdx.td_attributes"]);
        Assert.Equal(true, c["tdx.td_attributes.sept_ve_disable"]);
        Assert.Equal(false, c["tdx.td_attributes.debug"]);
        Assert.Equal(new string('0', 96), c["tdx.rtmr3"]);
        Assert.StartsWith("44c0197b", (string)c["tdx.rtmr0"], StringComparison.Ordinal);
        Assert.EndsWith("bc9c0", (string)c["tdx.rtmr0"], StringComparison.Ordinal);
        Assert.Equal("9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20", c["tdx.report_data"]);
        Assert.Equal("UpToDate", c["tdx.tcb.module_status"]);
        Assert.Equal("UpToDate", c["tdx.tcb.qe_status"]);
        Assert.Equal("UpToDate", c["tdx.tcb.qvl_status"]);
        Assert.False(c.ContainsKey("tdx.tcb.relaunch_advised"));
        Assert.False(c.ContainsKey("tdx.tee_tcb_svn2"));
    }

    [Fact]
    public async Task Dcap_qvl_outdated_quote_verifies_cryptographically_but_has_no_matching_tcb_level()
    {
        var result = await DcapOutdated().VerifyAsync();
        AssertOnlyFailed(result, "tcb.platform");
        Assert.Equal("no matching TCB level", AssertFailed(result, "tcb.platform").Actual);
        var c = result.Claims;
        Assert.False(c.ContainsKey("tdx.tcb_status"));
        Assert.Equal(5L, c["tdx.version"]);
        Assert.Equal("tdx1.5", c["tdx.body_type"]);
        Assert.Equal("90c06f000000", c["tdx.fmspc"]);
        Assert.Equal("273828c46252fcbdd8ad2dd907130222b03466d52a2911d70c1a5950895d6bd1ae451d382d5a9b1b4c0ed0e5ae9a3dbd", c["tdx.mr_td"]);
        Assert.StartsWith("07010300", (string)c["tdx.tee_tcb_svn"], StringComparison.Ordinal);
        Assert.StartsWith("0d010300", (string)c["tdx.tee_tcb_svn2"], StringComparison.Ordinal);
        Assert.Equal(new string('0', 96), c["tdx.mr_servicetd"]);
        Assert.Equal("d2142b643598eb5fae2bc8529dd79a558b29f868ccbb6531cb28dab9dce47728" + new string('0', 64), c["tdx.report_data"]);
        Assert.Equal("UpToDate", c["tdx.tcb.qe_status"]);
        Assert.Equal("UpToDate", c["tdx.tcb.module_status"]);

        // The relaunch check needs a graded platform, as in QVL (no TDX TCB level → not supported).
        Assert.False(c.ContainsKey("tdx.tcb.relaunch_advised"));
        Assert.False(c.ContainsKey("tdx.tcb.qvl_status"));
    }

    [Fact]
    public async Task Go_tdx_guest_v4_with_full_collateral_has_no_matching_tcb_level_and_an_UpToDate_qe()
    {
        var result = await GoTdxV4().VerifyAsync();
        AssertOnlyFailed(result, "tcb.platform");
        var c = result.Claims;
        Assert.Equal("UpToDate", c["tdx.tcb.qe_status"]);
        Assert.Equal("50806f000000", c["tdx.fmspc"]);
        Assert.Equal("0000", c["tdx.pce_id"]);
        Assert.Equal(11L, c["tdx.pce_svn"]);
        Assert.Equal("03000400000000000000000000000000", c["tdx.tee_tcb_svn"]);
        Assert.Equal("0000004000000000", c["tdx.td_attributes"]);
        Assert.Equal(true, c["tdx.td_attributes.pks"]);
        Assert.Equal("0x0000000000061ae7", c["tdx.xfam"]);
        Assert.Equal("6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5e119d7215cbb", c["tdx.mr_td"]);
        Assert.Equal("2fd279c16164a93dd5bf373d834328d46008c2b693af9ebb865b08b2ced320c9a89b4869a9fab60fbe9d0c5a5363c656", c["tdx.mr_seam"]);
        Assert.Equal("6c62dec1b8191749a31dab490be532a35944dea47caef1f980863993d9899545eb7406a38d1eed313b987a467dacead6f0c87a6d766c66f6f29f8acb281f1113", c["tdx.report_data"]);
    }

    [Fact]
    public async Task Go_tdx_guest_v4_quote_without_collateral_verifies_and_its_trailing_bytes_are_tolerated()
    {
        var c = GoTdxV4();
        Assert.Equal(39, TdxQuote.Parse(c.Quote).TrailingBytes);
        var result = await c.Verifier(requireCollateral: false).VerifyAsync(c.Quote, null);
        AssertVerified(result);
        Assert.False(result.Claims.ContainsKey("tdx.tcb_status"));

        // Without opting out, missing collateral is a failure, not a silent pass.
        var strict = await new TdxVerifier(TdxCollateralSources.None, new FixedTimeProvider(GoTdxTime)).VerifyAsync(c.Quote, null);
        AssertOnlyFailed(strict, "collateral");
    }

    [Fact]
    public async Task Go_tdx_guest_v4_in_2053_fails_because_the_pck_leaf_expired()
    {
        var c = GoTdxV4();
        var result = await c.VerifyAsync(at: DateTimeOffset.Parse("2053-07-01T01:00:00Z"), requireCollateral: false);
        var f = AssertFailed(result, "pck.leaf.validity");
        Assert.Contains("2029-09-20T13:20:31Z", f.Actual, StringComparison.Ordinal);
        // With collateral, the collateral's own expiry is named too.
        var full = await c.VerifyAsync(at: DateTimeOffset.Parse("2053-07-01T01:00:00Z"));
        AssertFailed(full, "tcb_info.next_update");
    }

    [Theory]
    [InlineData(0x00, 3, "quote.version")]
    [InlineData(0x278, 0x10, "quote.certification_data.size")]
    public void Go_tdx_guest_corruptions_that_break_the_format_are_named_parse_errors(int offset, int value, string field)
    {
        var quote = GoTdxV4().Quote;
        quote[offset] = (byte)value;
        var e = Assert.Throws<EvidenceFormatException>(() => TdxQuote.Parse(quote));
        Assert.Equal(field, e.Field);
        if (offset == 0x278)
        {
            // The same numbers as go-tdx-guest: "size of certificate data is 0xf8a. Expected size 0x1045".
            Assert.Contains("0x1045", e.Reason, StringComparison.Ordinal);
            Assert.Contains("0xf8a", e.Reason, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(0x1343, "pck.chain")]
    [InlineData(0x1329, "pck.root")]
    [InlineData(0xF5F, "pck.ca.signature")]
    [InlineData(0xB77, "pck.leaf.signature")]
    [InlineData(0x1E, "quote.signature")]
    [InlineData(0x3C, "quote.signature")]
    public async Task Go_tdx_guest_single_byte_corruptions_fail_with_the_specific_check(int offset, string check)
    {
        var c = GoTdxV4();
        var quote = c.Quote;
        Assert.NotEqual(0x32, quote[offset]);
        quote[offset] = 0x32;
        var result = await c.VerifyAsync(quote, requireCollateral: false);
        AssertFailed(result, check);
    }

    [Fact]
    public async Task Go_tdx_guest_v5_quote_verifies_without_collateral()
    {
        var c = GoTdxV5();
        var result = await c.VerifyAsync(requireCollateral: false);
        AssertVerified(result);
        Assert.Equal(5L, result.Claims["tdx.version"]);
        Assert.Equal("90c06f000000", result.Claims["tdx.fmspc"]);
    }

    [Fact]
    public void Go_tdx_guest_v5_body_grades_UpToDate_against_its_tcb_info_for_platform_and_module()
    {
        var quote = TdxQuote.Parse(GoTdxV5().Quote);
        var pem = quote.PckChain.ToArray().AsSpan().TrimEnd((byte)0);
        var pck = PckExtensions.From(Certificates.Load(pem, "pck")[0]);
        var tcbInfo = TcbInfo.Parse(SignedJson.FromPcsBody(Vectors.Bytes("go-tdx-guest", "testing-testdata", "sample_tcbinfo_response_v5"), "tcbInfo", "tcb_info").Body);
        var platform = TcbEvaluation.Platform(quote.Body, pck, tcbInfo);
        Assert.NotNull(platform);
        Assert.Equal(TcbStatus.UpToDate, platform.Status);
        Assert.Equal(DateTimeOffset.Parse("2024-11-13T00:00:00Z"), platform.TcbDate);
        var qe = QeIdentity.Parse(SignedJson.FromPcsBody(Vectors.Bytes("go-tdx-guest", "testing-testdata", "sample_qeIdentity_response"), "enclaveIdentity", "qe").Body);
        var failures = new List<VerificationFailure>();
        var result = TcbEvaluation.Evaluate(quote, pck, tcbInfo, qe, failures);
        Assert.Empty(failures);
        Assert.Equal(TcbStatus.UpToDate, result.Module!.Status);
        Assert.Equal(TcbStatus.UpToDate, result.Status);
    }

    [Fact]
    public async Task Go_tdx_guest_v5_with_the_2023_tcb_signing_chain_is_refused_in_2026_because_that_certificate_expired()
    {
        var dir = GoTdxDirectory("sample_tcbinfo_response_v5");
        var verifier = new TdxVerifier(new TdxDirectoryCollateral(dir), new FixedTimeProvider(GoTdxV5Time));
        var result = await verifier.VerifyAsync(GoTdxV5().Quote, null);
        var f = AssertFailed(result, "tcb_info.issuer_chain[0].validity");
        Assert.Contains("2025-05-21", f.Actual, StringComparison.Ordinal);
        AssertFailed(result, "qe_identity.next_update");
    }

    [Theory]
    [InlineData("tdx_quote_4.dat", 4, true)]
    [InlineData("tdx_quote_5.dat", 5, false)]
    [InlineData("tdx_quote_6.dat", 4, false)]
    public void Trustee_quotes_parse_with_their_version_and_debug_bit(string file, int version, bool debug)
    {
        var quote = TdxQuote.Parse(Vectors.Bytes("trustee", "deps", "verifier", "test_data", file));
        Assert.Equal(version, quote.Version);
        Assert.Equal(debug, quote.Body.TdAttributes.Debug);
        Assert.Equal(TdxVerifier.IntelQeVendorId, quote.QeVendorId.ToArray());
    }

    [Fact]
    public async Task Trustee_quote_6_verifies_without_collateral_and_its_report_data_binds_a_padded_sha384()
    {
        var bytes = Vectors.Bytes("trustee", "deps", "verifier", "test_data", "tdx_quote_6.dat");
        var verifier = new TdxVerifier(TdxCollateralSources.None, new FixedTimeProvider(DateTimeOffset.Parse("2025-10-28T00:00:00Z")), new TdxVerifierOptions { RequireCollateral = false });
        var result = await verifier.VerifyAsync(bytes, null);
        AssertVerified(result);
        var reportData = (string)result.Claims["tdx.report_data"];
        Assert.StartsWith("26cae1c7", reportData, StringComparison.Ordinal);
        Assert.EndsWith(new string('0', 32), reportData, StringComparison.Ordinal);
        Assert.Equal("00a06d080000", result.Claims["tdx.fmspc"]);
    }

    [Fact]
    public void Trustee_quote_4_claims_equal_trustees_expected_parse()
    {
        var quote = TdxQuote.Parse(Vectors.Bytes("trustee", "deps", "verifier", "test_data", "tdx_quote_4.dat"));
        var c = TdxClaims.From(quote, null, null, null);
        using var doc = System.Text.Json.JsonDocument.Parse(Vectors.Bytes("trustee", "deps", "verifier", "test_data", "parse_tdx_claims_expected.json"));
        var body = doc.RootElement.GetProperty("quote").GetProperty("body");
        string Want(string name) => body.GetProperty(name).GetString()!;
        Assert.Equal(Want("mr_td"), c["tdx.mr_td"]);
        Assert.Equal(Want("mr_seam"), c["tdx.mr_seam"]);
        Assert.Equal(Want("mrsigner_seam"), c["tdx.mr_signer_seam"]);
        Assert.Equal(Want("mr_config_id"), c["tdx.mr_config_id"]);
        Assert.Equal(Want("mr_owner"), c["tdx.mr_owner"]);
        Assert.Equal(Want("mr_owner_config"), c["tdx.mr_owner_config"]);
        Assert.Equal(Want("report_data"), c["tdx.report_data"]);
        Assert.Equal(Want("tcb_svn"), c["tdx.tee_tcb_svn"]);
        Assert.Equal(Want("td_attributes"), c["tdx.td_attributes"]);
        Assert.Equal(Want("seam_attributes"), c["tdx.seam_attributes"]);
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(Want($"rtmr_{i}"), c[$"tdx.rtmr{i}"]);
        }

        // Trustee prints XFAM as its little-endian bytes; Veil as the number.
        Assert.Equal(Convert.FromHexString(Want("xfam")).Reverse().ToArray(), Convert.FromHexString(((string)c["tdx.xfam"])[2..]));
        var attributes = doc.RootElement.GetProperty("td_attributes");
        Assert.Equal(attributes.GetProperty("debug").GetBoolean(), c["tdx.td_attributes.debug"]);
        Assert.Equal(attributes.GetProperty("septve_disable").GetBoolean(), c["tdx.td_attributes.sept_ve_disable"]);
        Assert.Equal(attributes.GetProperty("protection_keys").GetBoolean(), c["tdx.td_attributes.pks"]);
        Assert.Equal(attributes.GetProperty("key_locker").GetBoolean(), c["tdx.td_attributes.key_locker"]);
        Assert.Equal(attributes.GetProperty("perfmon").GetBoolean(), c["tdx.td_attributes.perfmon"]);
    }

    [Theory]
    [InlineData("tdx_quote_4.dat")]
    [InlineData("tdx_quote_5.dat")]
    [InlineData("az-tdx-vtpm/td-quote.bin")]
    public async Task Trustee_quotes_verify_without_collateral_within_their_pck_validity(string file)
    {
        var bytes = Vectors.Bytes(["trustee", "deps", "verifier", "test_data", .. file.Split('/')]);
        var verifier = new TdxVerifier(TdxCollateralSources.None, new FixedTimeProvider(DateTimeOffset.Parse("2024-06-01T00:00:00Z")), new TdxVerifierOptions { RequireCollateral = false });
        AssertVerified(await verifier.VerifyAsync(bytes, null));
    }

    /// <summary>go-tdx-guest's mismatch cases: collateral that describes another platform, module or QE is named.</summary>
    [Theory]
    [InlineData("qe", "\"mrsigner\":\"DC9E2A7C", "\"mrsigner\":\"DD9E2A7C", "qe_identity.mrsigner")]
    [InlineData("qe", "\"isvprodid\":2", "\"isvprodid\":3", "qe_identity.isvprodid")]
    [InlineData("qe", "\"miscselect\":\"00000000\"", "\"miscselect\":\"00000001\"", "qe_identity.miscselect")]
    [InlineData("qe", "\"attributes\":\"11000000", "\"attributes\":\"13000000", "qe_identity.attributes")]
    [InlineData("qe", "\"isvsvn\":4", "\"isvsvn\":9", "tcb.qe")]
    [InlineData("tcb", "\"pceId\":\"0000\"", "\"pceId\":\"1111\"", "tcb_info.pce_id")]
    [InlineData("tcb", "\"fmspc\":\"50806f000000\"", "\"fmspc\":\"11111f000000\"", "tcb_info.fmspc")]
    [InlineData("tcb", "\"tdxModule\":{\"mrsigner\":\"00", "\"tdxModule\":{\"mrsigner\":\"01", "tdx_module.mrsigner")]
    [InlineData("tcb", "\"attributesMask\":\"FFFFFFFFFFFFFFFF\"},", "\"attributesMask\":\"FFFFFFFFFFFFFFFF\",\"x\":0},", null)]
    public void Collateral_describing_another_platform_module_or_qe_is_named(string which, string find, string replace, string? check)
    {
        var quote = TdxQuote.Parse(GoTdxV4().Quote);
        var pck = PckExtensions.From(Certificates.Load(quote.PckChain.Span.TrimEnd((byte)0), "pck")[0]);
        var tcbBody = SignedJson.FromPcsBody(Vectors.Bytes("go-tdx-guest", "testing-testdata", "sample_tcbInfo_response"), "tcbInfo", "t").Body;
        var qeBody = SignedJson.FromPcsBody(Vectors.Bytes("go-tdx-guest", "testing-testdata", "sample_qeIdentity_response"), "enclaveIdentity", "q").Body;
        string Edit(ReadOnlyMemory<byte> body)
        {
            var text = System.Text.Encoding.UTF8.GetString(body.Span);
            Assert.Contains(find, text, StringComparison.Ordinal);
            return text.Replace(find, replace, StringComparison.Ordinal);
        }

        var tcbInfo = TcbInfo.Parse(System.Text.Encoding.UTF8.GetBytes(which == "tcb" ? Edit(tcbBody) : System.Text.Encoding.UTF8.GetString(tcbBody.Span)));
        var qe = QeIdentity.Parse(System.Text.Encoding.UTF8.GetBytes(which == "qe" ? Edit(qeBody) : System.Text.Encoding.UTF8.GetString(qeBody.Span)));
        var failures = new List<VerificationFailure>();
        _ = TcbEvaluation.Evaluate(quote, pck, tcbInfo, qe, failures);
        var names = failures.Select(f => f.Check).Where(c => c != "tcb.platform").ToList();
        if (check is null)
        {
            Assert.Empty(names);
        }
        else
        {
            Assert.Equal([check], names);
        }
    }

    [Theory]
    [InlineData(2, 3, "quote.att_key_type")]
    [InlineData(12, 0x00, "quote.qe_vendor_id")]
    public async Task A_non_intel_qe_or_a_p384_attestation_key_is_refused_by_name(int offset, int value, string check)
    {
        var c = DcapTdx();
        var quote = c.Quote;
        quote[offset] = (byte)value;
        var result = await c.VerifyAsync(quote);
        AssertFailed(result, check);
    }
}
