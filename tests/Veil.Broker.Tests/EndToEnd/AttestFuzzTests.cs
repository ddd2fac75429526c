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

/// <summary>Mutated bearer tokens on /resource: a 401 every time; only the untouched token releases.</summary>
public class BearerFuzzTests
{
    [Fact]
    public async Task Mutated_bearer_tokens_are_refused_never_500_or_released()
    {
        await using var broker = await TestBroker.StartAsync(allowSample: true);
        await broker.PutResourceAsync("default/model/key", Encoding.UTF8.GetBytes("bearer-fuzz-value"));
        using var key = TeeKey.CreateEc();
        using var http = broker.NewHttpClient();
        var client = new KbsClient(http);
        var nonce = (await client.AuthAsync("sample")).Nonce;
        var token = await client.AttestAsync(new KbsAttestation(new RuntimeData(nonce, key.PublicJson), new TeeEvidence(SampleAttester.Evidence(nonce, key.PublicJson), "")));

        using var bare = broker.NewHttpClient(); // no session cookie: the bearer token alone decides
        var released = key.Decrypt(await new KbsClient(bare).GetResourceAsync("default/model/key", token));
        Assert.Equal("bearer-fuzz-value", Encoding.UTF8.GetString(released));

        var statuses = new Dictionary<int, int>();
        var report = new MutationFuzzer([Encoding.ASCII.GetBytes(token)], seed: 77).Run(
            input =>
            {
                var text = Encoding.Latin1.GetString(input);
                if (text == token || text.Any(c => c is < '!' or > '~'))
                {
                    return; // unchanged, or not sendable as a header value
                }

                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("kbs/v0/resource/default/model/key", UriKind.Relative));
                request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + text);
                using var r = bare.SendAsync(request).GetAwaiter().GetResult();
                statuses[(int)r.StatusCode] = statuses.GetValueOrDefault((int)r.StatusCode) + 1;
                if (r.StatusCode != HttpStatusCode.Unauthorized)
                {
                    throw new InvalidOperationException($"{(int)r.StatusCode}: " + r.Content.ReadAsStringAsync().GetAwaiter().GetResult());
                }
            },
            _ => false,
            maxInputs: 3_000,
            budget: TimeSpan.FromSeconds(3));

        Assert.True(report.CrashCount == 0, string.Join("\n", report.Crashes.Take(3).Select(c => $"{c.Exception.Message} <- {Encoding.Latin1.GetString(c.Input)[..Math.Min(120, c.Input.Length)]}")));
        Assert.True(statuses.GetValueOrDefault(401) > 100, $"only {statuses.GetValueOrDefault(401)} mutated tokens were sent");
    }
}
