using System.Text;
using Veil.Attestation.Snp;
using static Veil.Attestation.Tests.Snp.SnpVectorCases;

namespace Veil.Attestation.Tests.Snp;

/// <summary>
/// Trustee's evidence JSON read in one pass: the same answers a whole-document parse gave (last duplicate wins,
/// escaped names match, a syntax error anywhere wins over field errors), and what is shared between reports (the
/// decoded VCEK, the verified chain) is never reused for different bytes or another time.
/// </summary>
public class TrusteeJsonTests
{
    private static string Json => Encoding.UTF8.GetString(TrusteeEvidenceJson().Evidence);

    private static byte[] Edit(string find, string replace)
    {
        var json = Json;
        Assert.Contains(find, json, StringComparison.Ordinal);
        return Encoding.UTF8.GetBytes(json.Replace(find, replace, StringComparison.Ordinal));
    }

    [Fact]
    public void A_property_given_twice_keeps_its_last_value_and_escaped_names_match()
    {
        var evidence = SnpEvidence.Parse(Edit("\"vmpl\":0", "\"vmpl\":0,\"v\\u006dpl\":2"));
        Assert.Equal(2u, evidence.Report.Vmpl);
    }

    [Theory]
    [InlineData("\"cert_chain\":[", "\"cert_chain\":[5,", "cert_chain[0]")]
    [InlineData("\"cert_chain\":[", "\"cert_chain\":[[1],", "cert_chain[0]")]
    [InlineData("\"data\":[", "\"x\":[", "cert_chain[0].data")]
    [InlineData("\"data\":[", "\"data\":[\"48\",", "cert_chain[0].data[0]")]
    [InlineData("\"data\":[", "\"data\":[1,", "cert_chain[0].data")]
    [InlineData("\"current_tcb\":{", "\"current_tcb\":[{}],\"y\":{", "attestation_report.current_tcb")]
    [InlineData("\"family_id\":[", "\"family_id\":{},\"z\":[", "attestation_report.family_id")]
    [InlineData("\"chip_id\":[", "\"chip_id\":[{\"a\":1},", "attestation_report.chip_id")]
    public void Each_malformed_part_is_named(string find, string replace, string field)
    {
        var e = Assert.Throws<EvidenceFormatException>(() => SnpEvidence.Parse(Edit(find, replace)));
        Assert.Equal(field, e.Field);
    }

    [Fact]
    public void A_wrong_length_is_reported_before_a_bad_element()
    {
        var e = Assert.Throws<EvidenceFormatException>(() => SnpEvidence.Parse(Edit("\"host_data\":[", "\"host_data\":[\"x\",")));
        Assert.Equal("attestation_report.host_data", e.Field);
        Assert.Equal("expected 32 bytes, found 33", e.Reason);
    }

    [Theory]
    [InlineData("{\"attestation_report\":5,}")]
    [InlineData("{\"attestation_report\":5} x")]
    [InlineData("{\"attestation_report\":5}{}")]
    [InlineData("[1,2")]
    public void A_syntax_error_anywhere_wins_over_field_errors(string json)
    {
        var e = Assert.Throws<EvidenceFormatException>(() => SnpEvidence.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.Equal("evidence", e.Field);
        Assert.StartsWith("not valid JSON", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Nesting_deeper_than_16_is_refused()
    {
        var deep = "{\"attestation_report\":" + new string('[', 20) + new string(']', 20) + "}";
        Assert.Equal("evidence", Assert.Throws<EvidenceFormatException>(() => SnpEvidence.Parse(Encoding.UTF8.GetBytes(deep))).Field);
    }

    [Fact]
    public async Task A_vcek_byte_changed_in_the_json_is_decoded_and_checked_as_a_new_certificate()
    {
        var original = TrusteeEvidenceJson().Evidence;
        var verifier = new SnpVerifier(SnpCollateralSources.Embedded(), new FixedTimeProvider(TrusteeEvidenceJson().At));
        AssertVerified(await verifier.VerifyAsync(original, null));

        // The VCEK's last byte belongs to its RSA-PSS signature by the ASK: still a certificate, no longer AMD's.
        var json = Json;
        var data = json.IndexOf("\"data\":[", StringComparison.Ordinal);
        var end = json.IndexOf(']', data);
        var last = json.LastIndexOf(',', end) + 1;
        var value = int.Parse(json[last..end], System.Globalization.CultureInfo.InvariantCulture);
        var edited = Encoding.UTF8.GetBytes(json[..last] + ((value + 1) % 256) + json[end..]);

        // Other bytes never get the shared instance of the original (the decoded-certificate cache is keyed by the DER).
        var a = SnpEvidence.Parse(original).Certificates[0];
        var b = SnpEvidence.Parse(edited).Certificates[0];
        Assert.NotSame(a, b);
        Assert.Equal((a.RawData[^1] + 1) & 0xFF, b.RawData[^1]);
        AssertFailed(await verifier.VerifyAsync(edited, null), "vcek.signature");
        AssertVerified(await verifier.VerifyAsync(original, null));
    }

    [Fact]
    public async Task The_shared_vcek_and_cached_chain_are_dated_again_at_every_verification()
    {
        var clock = new SettableClock(TrusteeEvidenceJson().At);
        var verifier = new SnpVerifier(SnpCollateralSources.Embedded(), clock);
        var json = TrusteeEvidenceJson().Evidence;
        AssertVerified(await verifier.VerifyAsync(json, null));

        // The VCEK is valid 2025-05-27T17:57:03Z to 2032-05-27T17:57:03Z.
        clock.Now = DateTimeOffset.Parse("2032-05-27T17:57:04Z");
        Assert.Contains("expired", AssertFailed(await verifier.VerifyAsync(json, null), "vcek.validity").Actual, StringComparison.Ordinal);
        clock.Now = DateTimeOffset.Parse("2025-05-27T17:57:02Z");
        Assert.Contains("not yet valid", AssertFailed(await verifier.VerifyAsync(json, null), "vcek.validity").Actual, StringComparison.Ordinal);
        clock.Now = DateTimeOffset.Parse("2025-05-27T17:57:03Z");
        AssertVerified(await verifier.VerifyAsync(json, null));
    }

    private sealed class SettableClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
