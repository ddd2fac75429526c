using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Veil.Attestation;
using Veil.Attestation.AzureVtpm;
using Veil.Attestation.Snp;

namespace Veil.Guest.Tests.AzureVtpm;

/// <summary>
/// The Azure vTPM attester against a real TPM (swtpm) provisioned as Azure leaves it: it reads the HCL report from
/// NV index 0x01400001, writes the report data for the paravisor (v2), quotes with the AK at 0x81000003 and reads the
/// PCRs, all through its own TPM2 command layer; Veil's verifier then accepts everything but the SNP report's AMD
/// signature (the report was re-bound to this TPM's AK, which only the real paravisor could have signed).
/// </summary>
public class AzureVtpmAttesterTests
{
    private static readonly byte[] ReportData = SHA384.HashData("nonce and tee-pubkey"u8);

    private static AzSnpVtpmVerifier Verifier() =>
        new(SnpCollateralSources.Evidence(), new FixedTimeProvider(DateTimeOffset.Parse("2026-03-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture)));

    private sealed class FixedImds(byte[] vcek) : IAzureImds
    {
        public byte[] Vcek() => vcek;

        public byte[] TdQuote(ReadOnlySpan<byte> tdReport) => throw new NotSupportedException("SNP only");
    }

    [Theory]
    [InlineData("rsa2048:rsassa-sha256:null")]
    [InlineData("rsa2048:rsapss-sha256:null")]
    [InlineData("ecc256:ecdsa-sha256:null")]
    public async Task Evidence_from_swtpm_passes_every_tpm_and_hcl_check(string key)
    {
        using var tpm = SwtpmFixture.Start(key);
        using var transport = new FakeParavisor(tpm.Connect(), tpm);
        var attester = new AzureVtpmAttester(transport, new FixedImds(SwtpmFixture.VcekDer));

        var evidence = attester.Evidence("az-snp-vtpm", ReportData);
        var bytes = Encoding.UTF8.GetBytes(evidence.GetRawText());
        var result = await Verifier().VerifyAsync(bytes, ReportData);

        Assert.Equal(["snp.report.signature"], result.Failures.Select(f => f.Check));
        Assert.Equal(2L, result.Claims["az.evidence_version"]);
        Assert.Equal(Convert.ToHexStringLower(ReportData), result.Claims["az.report_data"]);
        Assert.StartsWith(Convert.ToHexStringLower(ReportData), (string)result.Claims["az.user_data"], StringComparison.Ordinal);
        Assert.Equal(key.StartsWith("ecc", StringComparison.Ordinal) ? "EC" : "RSA", result.Claims["az.ak.kty"]);
        Assert.Equal(24, result.Claims.Keys.Count(k => k.StartsWith("tpm.pcr", StringComparison.Ordinal) && k != "tpm.pcr_bank"));

        // The same evidence against another session's report data: the quote and the HCL user-data both say no.
        var other = await Verifier().VerifyAsync(bytes, SHA384.HashData("another session"u8));
        Assert.Contains(other.Failures, f => f.Check == "tpm_quote.report_data");
        Assert.Contains(other.Failures, f => f.Check == "hcl.user_data");
    }

    [Fact]
    public async Task Init_data_extended_into_pcr8_is_verified_and_another_digest_refused()
    {
        using var tpm = SwtpmFixture.Start("rsa2048:rsassa-sha256:null");
        using var transport = new FakeParavisor(tpm.Connect(), tpm);
        var attester = new AzureVtpmAttester(transport, new FixedImds(SwtpmFixture.VcekDer));
        var initData = SHA256.HashData("version = \"0.1.0\"\nalgorithm = \"sha256\"\n"u8);
        attester.BindInitData(initData);

        var bytes = Encoding.UTF8.GetBytes(attester.Evidence("az-snp-vtpm", ReportData).GetRawText());
        var bound = await Verifier().VerifyAsync(bytes, ReportData, initData);
        Assert.Equal(["snp.report.signature"], bound.Failures.Select(f => f.Check));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData([.. new byte[32], .. initData])), bound.Claims["tpm.pcr08"]);

        var wrong = await Verifier().VerifyAsync(bytes, ReportData, SHA256.HashData("other"u8));
        Assert.Contains(wrong.Failures, f => f.Check == "init_data.pcr08");
    }

    [Fact]
    public void The_attester_refuses_an_hcl_report_without_our_user_data_or_naming_another_ak()
    {
        using var tpm = SwtpmFixture.Start("rsa2048:rsassa-sha256:null");

        // Without the paravisor refreshing the HCL report, the user-data is still zero: nothing is sent.
        using (var plain = tpm.Connect())
        {
            var e = Assert.Throws<AttesterException>(() => new AzureVtpmAttester(plain, null).Evidence("az-snp-vtpm", ReportData));
            Assert.Contains("did not refresh the HCL report", e.Message, StringComparison.Ordinal);

            // Asked for TDX on an SNP report: named.
            var t = Assert.Throws<AttesterException>(() => new AzureVtpmAttester(plain, null).Evidence("az-tdx-vtpm", ReportData));
            Assert.Contains("wrong --tee", t.Message, StringComparison.Ordinal);
        }

        // An AK at 0x81000003 other than the HCL report's: refused before quoting.
        using var other = SwtpmFixture.Start("rsa2048:rsassa-sha256:null");
        using var mixed = new FakeParavisor(other.Connect(), tpm);
        var k = Assert.Throws<AttesterException>(() => new AzureVtpmAttester(mixed, null).Evidence("az-snp-vtpm", ReportData));
        Assert.Contains("is not the key at 0x81000003", k.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tpm_errors_are_named_with_the_command()
    {
        using var tpm = SwtpmFixture.Start("rsa2048:rsassa-sha256:null");
        using var t = tpm.Connect();
        var commands = new TpmCommands(t);
        Assert.Null(commands.NvSize(0x01400099));
        var e = Assert.Throws<TpmResponseException>(() => commands.ReadPublic(0x81000099));
        Assert.Equal("TPM2_ReadPublic", e.Command);
        Assert.Equal(24, commands.PcrRead([.. Enumerable.Range(0, 24)]).Count);
    }

    [Fact]
    public void The_tcp_transport_refuses_a_tpm_off_this_host()
    {
        var e = Assert.Throws<AttesterException>(() => new TpmTcpTransport(new System.Net.IPEndPoint(System.Net.IPAddress.Parse("192.0.2.1"), 2321)));
        Assert.Contains("must be on loopback", e.Message, StringComparison.Ordinal);
    }
}
