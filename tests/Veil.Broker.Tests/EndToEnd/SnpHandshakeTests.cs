using System.Text;
using System.Text.Json;
using Veil.Broker.Tests.Support;
using Veil.Protocol.Client;
using Veil.Protocol.Ear;
using Veil.Tests.Shared;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>
/// The full flow with real AMD SEV-SNP evidence (Trustee's e2e vector, Genoa, VCEK in the evidence), verified by
/// Veil.Attestation's SNP verifier against the pinned AMD roots.
/// </summary>
public class SnpHandshakeTests
{
    private static byte[] VectorReportData()
    {
        using var doc = JsonDocument.Parse(Vectors.Text("trustee", "attestation-service", "tests", "e2e", "evidence.json"));
        return doc.RootElement.GetProperty("attestation_report").GetProperty("report_data").EnumerateArray().Select(b => b.GetByte()).ToArray();
    }

    [Fact]
    public async Task Real_snp_evidence_with_a_fresh_nonce_is_denied_for_report_data_mismatch()
    {
        await using var broker = await TestBroker.StartAsync(allowSample: false);
        using var http = broker.NewHttpClient();
        var client = new KbsClient(http);
        using var key = TeeKey.CreateEc();
        var challenge = await client.AuthAsync("snp");
        var e = await Assert.ThrowsAsync<KbsClientException>(() => client.AttestAsync(Handshake.SnpAttestation(challenge.Nonce, key)));

        Assert.Equal(401, e.Status);
        Assert.Equal("AttestationFailed", e.Kind);
        Assert.StartsWith("report data mismatch:", e.Detail, StringComparison.Ordinal);
        Assert.Contains("evidence has " + Convert.ToHexStringLower(VectorReportData()), e.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("also failed", e.Detail, StringComparison.Ordinal); // everything else about the vector verifies
    }

    [Fact]
    public async Task Real_snp_evidence_is_released_when_the_binding_expects_the_vectors_report_data()
    {
        await using var broker = await TestBroker.StartAsync(allowSample: false, binding: new FixedBinding(VectorReportData()));
        var secret = Encoding.UTF8.GetBytes("snp-released-" + Guid.NewGuid().ToString("N"));
        await broker.PutResourceAsync("default/model/snp", secret);
        using var http = broker.NewHttpClient();
        var client = new KbsClient(http);
        using var key = TeeKey.CreateEc("P-521");

        var challenge = await client.AuthAsync("snp");
        var token = await client.AttestAsync(Handshake.SnpAttestation(challenge.Nonce, key));
        SecretLedger.Add("EAR token", token);
        Assert.Equal(secret, key.Decrypt(await client.GetResourceAsync("default/model/snp")));

        var payload = JsonDocument.Parse(Convert.FromBase64String(Pad(token.Split('.')[1]))).RootElement;
        var cpu0 = payload.GetProperty("submods").GetProperty("cpu0");
        Assert.Equal(EarStatus.Affirming, cpu0.GetProperty("ear.status").GetString());
        Assert.Equal("snp", cpu0.GetProperty("veil.tee").GetString());
        var snp = cpu0.GetProperty("ear.veraison.annotated-evidence").GetProperty("snp");
        Assert.True(snp.EnumerateObject().Any(), "SNP claims are carried in the token");
    }

    [Fact]
    public async Task Additional_evidence_of_a_tee_without_a_device_verifier_is_refused_as_not_supported()
    {
        await using var broker = await TestBroker.StartAsync(allowSample: false, binding: new FixedBinding(VectorReportData()));
        using var http = broker.NewHttpClient();
        var client = new KbsClient(http);
        using var key = TeeKey.CreateEc();
        var challenge = await client.AuthAsync("snp");
        var a = Handshake.SnpAttestation(challenge.Nonce, key);
        a = a with { TeeEvidence = a.TeeEvidence with { AdditionalEvidence = "{\"sampledevice\":{\"svn\":\"2\"}}" } };
        var e = await Assert.ThrowsAsync<KbsClientException>(() => client.AttestAsync(a));
        Assert.Equal(("TeeNotSupported", 401), (e.Kind, e.Status));
        Assert.Contains("TEE not supported", e.Detail, StringComparison.Ordinal);
    }

    private static string Pad(string b64url)
    {
        var s = b64url.Replace('-', '+').Replace('_', '/');
        return s + new string('=', (4 - (s.Length % 4)) % 4);
    }
}
