using System.Net;
using System.Text.Json;
using Veil.Broker.Tests.Support;
using Veil.Broker.Verification;
using Veil.Protocol.Client;
using Veil.Protocol.Messages;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>A failure no endpoint expected: a problem with a trace id, no token, no release; the broker keeps serving.</summary>
public class InternalFailureTests
{
    private sealed class FailingBinding : IReportDataBindingService
    {
        public ReadOnlyMemory<byte> ExpectedReportData(string tee, RuntimeData runtimeData, string additionalEvidence) =>
            throw new InvalidOperationException("binding service unavailable");

        public ReadOnlyMemory<byte> ExpectedDeviceNonce(string tee, RuntimeData runtimeData) =>
            throw new InvalidOperationException("binding service unavailable");
    }

    [Fact]
    public async Task An_unexpected_exception_answers_a_500_problem_naming_the_trace_id_and_releases_nothing()
    {
        await using var broker = await TestBroker.StartAsync(binding: new FailingBinding());
        using var http = broker.NewHttpClient();
        using var key = TeeKey.CreateEc();
        var client = new KbsClient(http);
        var challenge = await client.AuthAsync("sample");
        var attestation = new KbsAttestation(new RuntimeData(challenge.Nonce, key.PublicJson), new TeeEvidence(SampleAttester.Evidence(challenge.Nonce, key.PublicJson), ""));

        using var content = new ByteArrayContent(attestation.ToUtf8());
        using var r = await http.PostAsync(new Uri("kbs/v0/attest", UriKind.Relative), content);

        Assert.Equal(HttpStatusCode.InternalServerError, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType!.MediaType);
        using var problem = JsonDocument.Parse(await r.Content.ReadAsByteArrayAsync());
        Assert.Equal("InternalError", problem.RootElement.GetProperty("title").GetString());
        Assert.Matches("its log holds the cause under trace id [^ ]+$", problem.RootElement.GetProperty("detail").GetString());
        Assert.False(problem.RootElement.TryGetProperty("token", out _));

        var refused = await Assert.ThrowsAsync<KbsClientException>(() => client.GetResourceAsync("default/model/key"));
        Assert.Equal(401, refused.Status);
        using var health = await http.GetAsync(new Uri("healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }
}
