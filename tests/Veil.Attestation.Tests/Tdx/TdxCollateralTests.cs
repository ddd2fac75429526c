using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Veil.Attestation.Tdx;
using Veil.Tests.Shared;
using static Veil.Attestation.Tests.Tdx.TdxVectorCases;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.Tests.Tdx;

/// <summary>Collateral: freshness to the second, signatures over the exact JSON text, CRLs, and both input forms.</summary>
public class TdxCollateralTests
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static TheoryData<string> Items => new("tcb_info", "qe_identity", "pck_crl", "root_ca_crl");

    private static DateTimeOffset NextUpdate(TdxCollateral c, string item) => item switch
    {
        "tcb_info" => c.TcbInfo.NextUpdate,
        "qe_identity" => c.QeIdentity.NextUpdate,
        "pck_crl" => c.PckCrl.NextUpdate!.Value,
        _ => c.RootCaCrl.NextUpdate!.Value,
    };

    [Theory]
    [MemberData(nameof(Items))]
    public async Task Collateral_one_second_past_its_nextUpdate_fails_and_names_it(string item)
    {
        var c = DcapTdx();
        var next = NextUpdate(c.Collateral()!, item);
        var result = await c.VerifyAsync(at: next.AddSeconds(1));
        var f = AssertFailed(result, $"{item}.next_update");
        Assert.Equal($"expired: nextUpdate {next.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}, now {next.AddSeconds(1).UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}", f.Actual);
    }

    [Fact]
    public async Task At_the_earliest_nextUpdate_itself_the_collateral_is_still_current()
    {
        var c = DcapTdx();
        var collateral = c.Collateral()!;
        var earliest = new[] { "tcb_info", "qe_identity", "pck_crl", "root_ca_crl" }.Min(i => NextUpdate(collateral, i));
        AssertVerified(await c.VerifyAsync(at: earliest));
        Assert.False((await c.VerifyAsync(at: earliest.AddSeconds(1))).Verified);
    }

    [Fact]
    public async Task Collateral_before_its_issue_date_fails()
    {
        var c = DcapTdx();
        var issued = c.Collateral()!.TcbInfo.IssueDate;
        AssertFailed(await c.VerifyAsync(at: issued.AddSeconds(-1)), "tcb_info.issue_date");
    }

    [Fact]
    public async Task Re_serialized_tcb_info_fails_its_signature_even_though_the_json_means_the_same()
    {
        var original = DcapCollateral("tdx_quote_collateral.json");
        using var doc = JsonDocument.Parse(original.TcbInfoSigned.Body);
        var indented = JsonSerializer.SerializeToUtf8Bytes(doc.RootElement, Indented);
        var reserialized = new TdxCollateral(original.TcbInfoSigned with { Body = indented }, original.TcbInfoIssuerChain, original.QeIdentitySigned,
            original.QeIdentityIssuerChain, original.PckCrlBytes, original.PckCrlIssuerChain, original.RootCaCrlBytes);
        Assert.Equal(original.TcbInfo.TcbLevels.Count, reserialized.TcbInfo.TcbLevels.Count);
        var verifier = new TdxVerifier(TdxCollateralSources.Fixed(reserialized), new FixedTimeProvider(DcapTdxTime));
        var result = await verifier.VerifyAsync(DcapTdx().Quote, null);
        AssertOnlyFailed(result, "tcb_info.signature");
        Assert.False(result.Claims.ContainsKey("tdx.tcb_status"));
    }

    [Fact]
    public async Task Pcs_body_whitespace_outside_the_signed_object_is_fine_inside_it_is_not()
    {
        var dir = Directory.CreateTempSubdirectory("veil-tdx-ws-").FullName;
        try
        {
            foreach (var name in TdxDirectoryCollateral.FileNames)
            {
                File.Copy(Path.Combine(GoTdxDirectory(), name), Path.Combine(dir, name));
            }

            var body = File.ReadAllText(Path.Combine(dir, "tcb_info.json"));
            File.WriteAllText(Path.Combine(dir, "tcb_info.json"), body.Replace("{\"tcbInfo\":", "{\n  \"tcbInfo\" :  ", StringComparison.Ordinal));
            var verifier = new TdxVerifier(new TdxDirectoryCollateral(dir), new FixedTimeProvider(GoTdxTime));
            AssertOnlyFailed(await verifier.VerifyAsync(GoTdxV4().Quote, null), "tcb.platform");

            File.WriteAllText(Path.Combine(dir, "tcb_info.json"), body.Replace("\"version\":3,", "\"version\": 3,", StringComparison.Ordinal));
            var fresh = new TdxVerifier(new TdxDirectoryCollateral(dir), new FixedTimeProvider(GoTdxTime));
            AssertFailed(await fresh.VerifyAsync(GoTdxV4().Quote, null), "tcb_info.signature");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Intel_crls_parse_and_verify_in_der_pem_and_hex()
    {
        var der = Vectors.Bytes("go-tdx-guest", "testing-testdata", "pckcrl");
        var crl = IntelCrl.Parse(der, "pck_crl");
        Assert.Equal(44, crl.RevokedCount);
        Assert.Equal(DateTimeOffset.Parse("2023-06-08T07:27:52Z"), crl.ThisUpdate);
        Assert.Equal(DateTimeOffset.Parse("2023-07-08T07:27:52Z"), crl.NextUpdate);
        var platformCa = Certificates.Load(Vectors.Bytes("go-tdx-guest", "derived", "pckCrl_issuer_chain.pem"), "chain")[0];
        Assert.Null(crl.VerifySignature(platformCa));
        Assert.NotNull(crl.VerifySignature(Collateral.IntelRoots.SgxRoot));

        var pem = Encoding.ASCII.GetBytes(PemEncoding.WriteString("X509 CRL", der));
        var hex = Encoding.ASCII.GetBytes(Convert.ToHexString(der));
        Assert.Equal(44, IntelCrl.Parse(pem, "pem").RevokedCount);
        Assert.Null(IntelCrl.Parse(hex, "hex").VerifySignature(platformCa));

        var root = IntelCrl.Parse(Vectors.Bytes("go-tdx-guest", "testing-testdata", "rootcrl.der"), "root_ca_crl");
        Assert.Equal(0, root.RevokedCount);
        Assert.Null(root.VerifySignature(Collateral.IntelRoots.SgxRoot));

        var tampered = (byte[])der.Clone();
        tampered[200] ^= 1;
        Assert.Equal("signature does not verify", IntelCrl.Parse(tampered, "pck_crl").VerifySignature(platformCa));
    }

    [Fact]
    public void A_serial_on_a_crl_is_found_as_revoked_and_others_are_not()
    {
        // A CRL written by .NET's own CertificateRevocationListBuilder (an independent encoder) for a throwaway CA.
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Test PCK CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.KeyCertSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var revokedLeaf = new CertificateRequest("CN=Revoked", leafKey, HashAlgorithmName.SHA256).Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(10), [0x00, 0x9A, 0x01]);
        using var goodLeaf = new CertificateRequest("CN=Good", leafKey, HashAlgorithmName.SHA256).Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(10), [0x9A, 0x02]);
        var builder = new CertificateRevocationListBuilder();
        builder.AddEntry(revokedLeaf);
        var der = builder.Build(ca, 1, DateTimeOffset.UtcNow.AddDays(7), HashAlgorithmName.SHA256);

        var crl = IntelCrl.Parse(der, "crl");
        Assert.Null(crl.VerifySignature(ca));
        Assert.True(crl.IsRevoked(revokedLeaf));
        Assert.False(crl.IsRevoked(goodLeaf));
    }

    /// <summary>
    /// DER whose last byte looks like whitespace (its signature ends in 0x00, 0x09, 0x0A, 0x0D or 0x20) is read whole:
    /// the parser once trimmed such bytes off binary input, so about one CRL in fifty failed as "not a DER X.509 CRL".
    /// </summary>
    [Fact]
    public void A_crl_ending_in_a_whitespace_byte_is_read_whole()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Test PCK CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        byte[] der = [];
        for (var n = 1; n < 20_000 && !(der.Length > 0 && der[^1] is 0x00 or 0x09 or 0x0A or 0x0D or 0x20); n++)
        {
            der = new CertificateRevocationListBuilder().Build(ca, n, DateTimeOffset.UtcNow.AddDays(7), HashAlgorithmName.SHA256);
        }

        Assert.True(der[^1] is 0x00 or 0x09 or 0x0A or 0x0D or 0x20, "no CRL ending in a whitespace byte was made");
        var crl = IntelCrl.Parse(der, "crl");
        Assert.Null(crl.VerifySignature(ca));
    }

    [Fact]
    public async Task The_dcap_qvl_file_and_a_pcs_directory_hold_the_same_signed_bytes()
    {
        var file = DcapCollateral("tdx_quote_collateral.json");
        var dir = Directory.CreateTempSubdirectory("veil-tdx-dir-").FullName;
        try
        {
            static string Body(string name, SignedJson s) => $"{{\"{name}\":{Encoding.UTF8.GetString(s.Body.Span)},\"signature\":\"{Convert.ToHexStringLower(s.Signature.Span)}\"}}";
            File.WriteAllText(Path.Combine(dir, "tcb_info.json"), Body("tcbInfo", file.TcbInfoSigned));
            File.WriteAllText(Path.Combine(dir, "qe_identity.json"), Body("enclaveIdentity", file.QeIdentitySigned));
            File.WriteAllText(Path.Combine(dir, "tcb_info_issuer_chain.pem"), string.Concat(file.TcbInfoIssuerChain.Select(c => c.ExportCertificatePem() + "\n")));
            File.WriteAllText(Path.Combine(dir, "qe_identity_issuer_chain.pem"), string.Concat(file.QeIdentityIssuerChain.Select(c => c.ExportCertificatePem() + "\n")));
            File.WriteAllText(Path.Combine(dir, "pck_crl_issuer_chain.pem"), string.Concat(file.PckCrlIssuerChain.Select(c => c.ExportCertificatePem() + "\n")));
            File.WriteAllBytes(Path.Combine(dir, "pck_crl.der"), file.PckCrlBytes.ToArray());
            File.WriteAllBytes(Path.Combine(dir, "root_ca_crl.der"), Convert.FromHexString(Encoding.ASCII.GetString(file.RootCaCrlBytes.Span)));
            var verifier = new TdxVerifier(new TdxDirectoryCollateral(dir), new FixedTimeProvider(DcapTdxTime));
            var result = await verifier.VerifyAsync(DcapTdx().Quote, null);
            AssertVerified(result);
            Assert.Equal("UpToDate", result.Claims["tdx.tcb_status"]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Collateral_for_another_platform_is_named_as_an_fmspc_mismatch()
    {
        var verifier = new TdxVerifier(TdxCollateralSources.Fixed(DcapCollateral("tdx_quote_outdated_collateral.json")), new FixedTimeProvider(DcapOutdatedTime));
        var result = await verifier.VerifyAsync(DcapTdx().Quote, null);
        var f = AssertFailed(result, "tcb_info.fmspc");
        Assert.Equal("b0c06f000000", f.Expected);
        Assert.Equal("90c06f000000", f.Actual);
    }
}
