using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Veil.Attestation.Nvidia;
using Veil.Attestation.Nvidia.Ocsp;

namespace Veil.Attestation.Tests.Nvidia;

/// <summary>
/// OCSP responses made by OpenSSL's responder (`openssl ocsp -index`) for a throwaway P-384 CA, read and checked
/// by Veil: good, revoked, on hold, unknown, foreign signer, stale, and what the verifier makes of each.
/// </summary>
public sealed class OcspTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("veil-ocsp-").FullName;
    private readonly ECDsa caKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
    private readonly X509Certificate2 ca;
    private readonly X509Certificate2 leaf;

    public OcspTests()
    {
        ca = SelfSigned("Test OCSP CA", caKey);
        leaf = Issue("Test Device", ca, caKey, serial: 0x1234);
    }

    public void Dispose()
    {
        caKey.Dispose();
        Directory.Delete(dir, recursive: true);
    }

    [Theory]
    [InlineData("V", null, OcspCertStatus.Good, null)]
    [InlineData("R", "keyCompromise", OcspCertStatus.Revoked, 1)]
    [InlineData("R", "certificateHold", OcspCertStatus.OnHold, 6)]
    public void Openssl_responses_are_read_with_the_status_the_index_gives(string state, string? reason, OcspCertStatus status, int? code)
    {
        var der = Respond(leaf, state, reason);
        Assert.True(OcspResponse.Names(der, leaf, ca));
        var r = OcspResponse.Check(der, leaf, ca, DateTimeOffset.UtcNow);
        Assert.Equal(status, r.Status);
        Assert.Equal(code, r.RevocationReason);
    }

    [Fact]
    public void A_certificate_missing_from_the_index_is_unknown_and_another_certificate_is_not_named()
    {
        var other = Issue("Other Device", ca, caKey, serial: 0x999);
        var der = Respond(other, state: null, reason: null);
        Assert.Equal(OcspCertStatus.Unknown, OcspResponse.Check(der, other, ca, DateTimeOffset.UtcNow).Status);
        Assert.False(OcspResponse.Names(der, leaf, ca));
        Assert.Equal("ocsp.cert_id", Assert.Throws<EvidenceFormatException>(() => OcspResponse.Check(der, leaf, ca, DateTimeOffset.UtcNow)).Field);
    }

    [Fact]
    public void A_response_signed_by_anyone_but_the_issuer_is_refused()
    {
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var impostor = SelfSigned("Test OCSP CA", otherKey);
        var der = Respond(leaf, "V", null, signer: impostor, signerKey: otherKey);
        Assert.Equal("ocsp.signature", Assert.Throws<EvidenceFormatException>(() => OcspResponse.Check(der, leaf, ca, DateTimeOffset.UtcNow)).Field);
    }

    [Fact]
    public void A_stale_response_is_refused()
    {
        var der = Respond(leaf, "V", null);
        var e = Assert.Throws<EvidenceFormatException>(() => OcspResponse.Check(der, leaf, ca, DateTimeOffset.UtcNow.AddDays(3)));
        Assert.Equal("ocsp.next_update", e.Field);
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 0x30, 0x03, 0x0A, 0x01, 0x01 })]
    [InlineData(new byte[] { 0x30, 0x80 })]
    public void Malformed_or_unsuccessful_responses_give_a_named_error(byte[] der)
    {
        var e = Assert.Throws<EvidenceFormatException>(() => OcspResponse.Check(der, leaf, ca, DateTimeOffset.UtcNow));
        Assert.StartsWith("ocsp", e.Field, StringComparison.Ordinal);
        Assert.False(OcspResponse.Names(der, leaf, ca));
    }

    [Theory]
    [InlineData("V", null, null, null)]
    [InlineData("R", "keyCompromise", "revoked (reason 1)", null)]
    [InlineData("R", "certificateHold", null, "on hold")]
    public async Task The_verifiers_ocsp_step_fails_on_revoked_and_leaves_hold_and_missing_to_policy(string state, string? reason, string? failure, string? finding)
    {
        var der = Respond(leaf, state, reason);
        var check = new OcspCheck(NvidiaCollateralSources.Files([], [der]));
        var failures = new List<VerificationFailure>();
        var findings = new List<string>();
        await check.RunAsync(leaf, ca, "device_chain[1]", DateTimeOffset.UtcNow, failures, findings, default);
        Assert.Equal(failure, failures.SingleOrDefault()?.Actual);
        Assert.Equal(finding is null ? 0 : 1, findings.Count(f => f.Contains(finding ?? "-", StringComparison.Ordinal)));

        var none = new List<string>();
        await new OcspCheck(NvidiaCollateralSources.None()).RunAsync(leaf, ca, "device_chain[1]", DateTimeOffset.UtcNow, [], none, default);
        Assert.Equal("device_chain[1].ocsp: no OCSP response at hand", Assert.Single(none));
    }

    [Fact]
    public void Veils_ocsp_request_is_accepted_by_openssls_responder()
    {
        File.WriteAllBytes(Path.Combine(dir, "veil-req.der"), NvidiaServiceCollateral.Request(leaf, ca));
        var der = Respond(leaf, "V", null, requestFile: "veil-req.der");
        Assert.Equal(OcspCertStatus.Good, OcspResponse.Check(der, leaf, ca, DateTimeOffset.UtcNow).Status);
    }

    [Fact]
    public async Task Ocsp_fetcher_posts_to_the_responder_caches_the_answer_and_falls_back_to_the_cache_offline()
    {
        var der = Respond(leaf, "V", null);
        var cache = Path.Combine(dir, "cache");
        using var http = new HttpClient();
        Uri responder;
        using (var server = new Veil.Tests.Shared.LoopbackHttpServer())
        {
            server.Add("/ocsp/", der);
            responder = new Uri(server.BaseUri, "ocsp/");
            var service = new NvidiaServiceCollateral(http, server.BaseUri, responder, cache);
            Assert.Equal(der, await service.GetOcspAsync(new NvidiaOcspRequest(leaf, ca), default));
            Assert.Equal(["/ocsp/"], server.Requests.ToArray());
        }

        // The responder is gone: the cached answer is used, and an offline directory over the cache finds it too.
        var offline = new NvidiaServiceCollateral(http, responder, responder, cache);
        Assert.Equal(der, await offline.GetOcspAsync(new NvidiaOcspRequest(leaf, ca), default));
        Assert.Equal(der, await new NvidiaDirectoryCollateral(cache).GetOcspAsync(new NvidiaOcspRequest(leaf, ca), default));
        Assert.Null(await new NvidiaDirectoryCollateral(cache).GetOcspAsync(new NvidiaOcspRequest(Issue("Other", ca, caKey, 77), ca), default));
    }

    internal static X509Certificate2 SelfSigned(string name, ECDsa key)
    {
        var req = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA384);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        return req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
    }

    private static X509Certificate2 Issue(string name, X509Certificate2 issuer, ECDsa issuerKey, long serial)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var req = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA384);
        var serialBytes = BitConverter.GetBytes(serial).Reverse().SkipWhile(b => b == 0).ToArray();
        using var issuerWithKey = issuer.HasPrivateKey ? null : issuer.CopyWithPrivateKey(issuerKey);
        return req.Create(issuerWithKey ?? issuer, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddMonths(6), serialBytes);
    }

    /// <summary>Runs OpenSSL's OCSP responder once over an index holding <paramref name="cert"/> in <paramref name="state"/> (null: absent).</summary>
    private byte[] Respond(X509Certificate2 cert, string? state, string? reason, X509Certificate2? signer = null, ECDsa? signerKey = null, string? requestFile = null)
    {
        var expiry = cert.NotAfter.ToUniversalTime().ToString("yyMMddHHmmss'Z'");
        var revoked = state == "R" ? DateTime.UtcNow.AddHours(-1).ToString("yyMMddHHmmss'Z'") + "," + reason : "";
        File.WriteAllText(Path.Combine(dir, "index.txt"), state is null ? "" : $"{state}\t{expiry}\t{revoked}\t{cert.SerialNumber}\tunknown\t/CN=x\n");
        File.WriteAllText(Path.Combine(dir, "ca.pem"), ca.ExportCertificatePem());
        File.WriteAllText(Path.Combine(dir, "cert.pem"), cert.ExportCertificatePem());
        File.WriteAllText(Path.Combine(dir, "signer.pem"), (signer ?? ca).ExportCertificatePem());
        File.WriteAllText(Path.Combine(dir, "signer.key"), (signerKey ?? caKey).ExportPkcs8PrivateKeyPem());
        if (requestFile is null)
        {
            requestFile = "req.der";
            Openssl("ocsp", "-issuer", "ca.pem", "-cert", "cert.pem", "-no_nonce", "-reqout", requestFile);
        }

        Openssl("ocsp", "-index", "index.txt", "-rsigner", "signer.pem", "-rkey", "signer.key", "-CA", "ca.pem",
            "-reqin", requestFile, "-respout", "resp.der", "-ndays", "1");
        return File.ReadAllBytes(Path.Combine(dir, "resp.der"));
    }

    private void Openssl(params string[] args)
    {
        var psi = new ProcessStartInfo("openssl") { WorkingDirectory = dir, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, "openssl " + string.Join(' ', args) + ": " + err);
    }
}
