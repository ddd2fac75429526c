using System.Net;
using System.Text;
using Veil.Broker.Tests.Support;
using Veil.Protocol.Client;
using Veil.Protocol.Messages;
using Veil.Tests.Shared;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>
/// Mutated /auth and /attest bodies (seeded with real SNP and sample attestations) against the real broker: a 4xx
/// problem every time, never a 500, and never a token for a mutated SNP report.
/// </summary>
public class AttestFuzzTests
{
    [Fact]
    public async Task Mutated_attestations_are_4xx_problems_never_500()
    {
        await using var broker = await TestBroker.StartAsync(allowSample: true);
        using var key = TeeKey.CreateEc();
        using var http = broker.NewHttpClient();
        var client = new KbsClient(http);
        var sampleNonce = (await client.AuthAsync("sample")).Nonce;
        byte[][] seeds =
        [
            Handshake.SnpAttestation("AAAA", key).ToUtf8(),
            new KbsAttestation(new RuntimeData(sampleNonce, key.PublicJson), new TeeEvidence(SampleAttester.Evidence(sampleNonce, key.PublicJson), "")).ToUtf8(),
        ];

        var statuses = new Dictionary<int, int>();
        var report = new MutationFuzzer(seeds, seed: 4242).Run(
            input =>
            {
                client.AuthAsync("snp").GetAwaiter().GetResult();
                using var content = new ByteArrayContent(input);
                using var r = http.PostAsync(new Uri("kbs/v0/attest", UriKind.Relative), content).GetAwaiter().GetResult();
                statuses[(int)r.StatusCode] = statuses.GetValueOrDefault((int)r.StatusCode) + 1;
                if (r.StatusCode == HttpStatusCode.InternalServerError || r.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"{(int)r.StatusCode}: " + r.Content.ReadAsStringAsync().GetAwaiter().GetResult());
                }
            },
            _ => false,
            maxInputs: 2_000,
            budget: TimeSpan.FromSeconds(4));

        Assert.True(report.Inputs > 100, $"only {report.Inputs} inputs ran");
        Assert.True(report.CrashCount == 0, string.Join("\n", report.Crashes.Take(3).Select(c => $"{c.Exception.Message} <- {Encoding.UTF8.GetString(c.Input)[..Math.Min(200, c.Input.Length)]}")));
        Assert.True(statuses.Count > 1, "every input got the same answer: the mutations did not reach past the first check");
    }
}
