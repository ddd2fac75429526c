using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Veil.Broker.Hosting;
using Veil.Broker.Tests.Support;
using Veil.Protocol.Client;
using Veil.Protocol.Messages;
using Veil.Tests.Shared;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>
/// The broker builds its verifiers through the same factory as 'veil verify', so the SNP collateral settings the CLI
/// has work here too: SNP evidence that carries no VCEK verifies when --snp-collateral-dir holds it, and is refused
/// with the missing collateral named when it does not.
/// </summary>
public class SnpCollateralSettingTests
{
    [Fact]
    public async Task Snp_evidence_without_its_vcek_is_released_only_with_the_vcek_in_the_snp_collateral_dir()
    {
        var full = JsonNode.Parse(Vectors.Text("trustee", "attestation-service", "tests", "e2e", "evidence.json"))!.AsObject();
        var vcek = full["cert_chain"]![0]!["data"]!.AsArray().Select(b => (byte)b!.GetValue<int>()).ToArray();
        full["cert_chain"] = new JsonArray();
        var stripped = JsonDocument.Parse(full.ToJsonString()).RootElement.Clone();
        var dir = Directory.CreateTempSubdirectory("veil-snp-collateral").FullName;
        await File.WriteAllBytesAsync(Path.Combine(dir, "vcek.der"), vcek);
        try
        {
            await using (var without = await TestBroker.StartAsync(allowSample: false, binding: new FixedBinding(SnpVector.ReportData())))
            {
                var e = await Assert.ThrowsAsync<KbsClientException>(() => AttestAsync(without, stripped));
                Assert.Equal((401, "AttestationFailed"), (e.Status, e.Kind));
                Assert.Contains("collateral.vcek", e.Detail, StringComparison.Ordinal);
            }

            await using var with = await TestBroker.StartAsync(allowSample: false, binding: new FixedBinding(SnpVector.ReportData()), configure: o => o with { SnpCollateralDir = dir });
            var secret = Encoding.UTF8.GetBytes("snp-dir-" + Guid.NewGuid().ToString("N"));
            await with.PutResourceAsync("default/model/snp-dir", secret);
            using var http = with.NewHttpClient();
            var client = new KbsClient(http);
            using var key = TeeKey.CreateEc();
            var challenge = await client.AuthAsync("snp");
            SecretLedger.Add("EAR token", await client.AttestAsync(new KbsAttestation(new RuntimeData(challenge.Nonce, key.PublicJson), new TeeEvidence(stripped, ""))));
            Assert.Equal(secret, key.Decrypt(await client.GetResourceAsync("default/model/snp-dir")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_snp_collateral_dir_that_does_not_exist_stops_the_start_with_the_setting_named()
    {
        var e = await Assert.ThrowsAsync<BrokerConfigurationException>(() => TestBroker.StartAsync(configure: o => o with { SnpCollateralDir = "/nonexistent/veil-snp" }));
        Assert.Contains("--snp-collateral-dir: directory not found", e.Message, StringComparison.Ordinal);
    }

    private static async Task<string> AttestAsync(TestBroker broker, JsonElement evidence)
    {
        using var http = broker.NewHttpClient();
        var client = new KbsClient(http);
        using var key = TeeKey.CreateEc();
        var challenge = await client.AuthAsync("snp");
        return await client.AttestAsync(new KbsAttestation(new RuntimeData(challenge.Nonce, key.PublicJson), new TeeEvidence(evidence, "")));
    }
}
