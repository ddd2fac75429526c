using System.Text;
using System.Text.Json;
using Veil.Attestation;
using Veil.Attestation.AzureVtpm;
using Veil.Attestation.Snp;
using Veil.Broker.Tests.Support;
using Veil.Protocol.Client;
using Veil.Protocol.Ear;
using Veil.Protocol.Messages;
using Veil.Tests.Shared;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>
/// The full KBS flow with real Azure SEV-SNP vTPM evidence (Trustee's evidence-v2.json: vTPM quote, HCL report, Milan
/// SNP report, VCEK in the evidence), appraised with the shipped strict policy at the vector's own TCB.
/// </summary>
public class AzureVtpmHandshakeTests
{
    /// <summary>The vector's 48-byte report data: TPM quote extraData and HCL user-data prefix.</summary>
    private static readonly byte[] V2ReportData = Convert.FromHexString("982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef");

    private static KbsAttestation Attestation(string nonce, TeeKey key)
    {
        using var evidence = JsonDocument.Parse(Vectors.Text("trustee", "deps", "verifier", "test_data", "az-snp-vtpm", "evidence-v2.json"));
        return new(new RuntimeData(nonce, key.PublicJson), new TeeEvidence(evidence.RootElement.Clone(), ""));
    }

    /// <summary>Strict's SNP TCB minimums set to the vector's reported TCB (the operator's choice in production).</summary>
    private static async Task<IReadOnlyDictionary<string, string>> VectorMinimums()
    {
        var verifier = new AzSnpVtpmVerifier(SnpCollateralSources.Evidence(), TimeProvider.System);
        var claims = (await verifier.VerifyAsync(Encoding.UTF8.GetBytes(Vectors.Text("trustee", "deps", "verifier", "test_data", "az-snp-vtpm", "evidence-v2.json")), V2ReportData)).Claims;
        return new Dictionary<string, string>
        {
            ["snp_min_bootloader"] = claims["snp.reported_tcb.bootloader"].ToString()!,
            ["snp_min_tee"] = claims["snp.reported_tcb.tee"].ToString()!,
            ["snp_min_snp"] = claims["snp.reported_tcb.snp"].ToString()!,
            ["snp_min_microcode"] = claims["snp.reported_tcb.microcode"].ToString()!,
        };
    }

    [Fact]
    public async Task Azure_snp_evidence_is_accepted_in_a_kbs_session_and_a_resource_released()
    {
        var minimums = await VectorMinimums();
        await using var broker = await TestBroker.StartAsync(allowSample: false, binding: new FixedBinding(V2ReportData), configure: o => o with { PolicyParameters = minimums });
        var secret = Encoding.UTF8.GetBytes("az-released-" + Guid.NewGuid().ToString("N"));
        await broker.PutResourceAsync("default/model/azure", secret);
        using var http = broker.NewHttpClient();
        var client = new KbsClient(http);
        using var key = TeeKey.CreateEc();

        var challenge = await client.AuthAsync("az-snp-vtpm");
        var token = await client.AttestAsync(Attestation(challenge.Nonce, key));
        SecretLedger.Add("EAR token", token);
        Assert.Equal(secret, key.Decrypt(await client.GetResourceAsync("default/model/azure")));

        var payload = JsonDocument.Parse(Convert.FromBase64String(Pad(token.Split('.')[1]))).RootElement;
        var cpu0 = payload.GetProperty("submods").GetProperty("cpu0");
        Assert.Equal(EarStatus.Affirming, cpu0.GetProperty("ear.status").GetString());
        Assert.Equal("az-snp-vtpm", cpu0.GetProperty("veil.tee").GetString());
        var claims = cpu0.GetProperty("ear.veraison.annotated-evidence").GetProperty("az-snp-vtpm");
        Assert.True(claims.EnumerateObject().Any(), "Azure claims are carried in the token");
    }

    [Fact]
    public async Task Azure_snp_evidence_with_a_fresh_nonce_is_refused_for_report_data_mismatch()
    {
        await using var broker = await TestBroker.StartAsync(allowSample: false, configure: o => o with { PolicyParameters = VectorMinimums().GetAwaiter().GetResult() });
        await broker.PutResourceAsync("default/model/azure", [1, 2, 3]);
        using var http = broker.NewHttpClient();
        var client = new KbsClient(http);
        using var key = TeeKey.CreateEc();
        var challenge = await client.AuthAsync("az-snp-vtpm");

        var e = await Assert.ThrowsAsync<KbsClientException>(() => client.AttestAsync(Attestation(challenge.Nonce, key)));
        Assert.Equal((401, "AttestationFailed"), (e.Status, e.Kind));
        Assert.StartsWith("report data mismatch:", e.Detail, StringComparison.Ordinal);
        // The broker expects the bare 48-byte binding (no zero padding) in the quote's extraData.
        var expected = Veil.Protocol.Binding.ReportDataBinding.PrimaryDigest(challenge.Nonce, key.PublicJson, "");
        Assert.Contains($"expected {Convert.ToHexStringLower(expected)}, evidence has {Convert.ToHexStringLower(V2ReportData)}", e.Detail, StringComparison.Ordinal);
        Assert.Contains("hcl.user_data", e.Detail, StringComparison.Ordinal);
        var r = await Assert.ThrowsAsync<KbsClientException>(() => client.GetResourceAsync("default/model/azure"));
        Assert.Equal(401, r.Status);
    }

    [Fact]
    public async Task Az_tdx_vtpm_without_intel_collateral_is_refused_at_auth_with_the_reason()
    {
        await using var broker = await TestBroker.StartAsync(allowSample: false);
        using var http = broker.NewHttpClient();
        var e = await Assert.ThrowsAsync<KbsClientException>(() => new KbsClient(http).AuthAsync("az-tdx-vtpm"));
        Assert.Equal(("TeeNotSupported", 401), (e.Kind, e.Status));
        Assert.Contains("az-tdx-vtpm needs Intel collateral", e.Detail, StringComparison.Ordinal);
    }

    private static string Pad(string b64url)
    {
        var s = b64url.Replace('-', '+').Replace('_', '/');
        return s + new string('=', (4 - (s.Length % 4)) % 4);
    }
}
