using System.Text.Json;
using Veil.Broker.Tests.Support;
using Veil.Protocol.Client;
using Veil.Protocol.Messages;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>Steps of an RCAR handshake for tests, recording each token and session id as a secret.</summary>
internal static class Handshake
{
    public static async Task<(KbsChallenge Challenge, string Token)> SampleAsync(KbsClient client, TeeKey key)
    {
        var challenge = await client.AuthAsync("sample");
        var token = await client.AttestAsync(SampleAttestation(challenge.Nonce, key));
        SecretLedger.Add("EAR token", token);
        return (challenge, token);
    }

    public static KbsAttestation SampleAttestation(string nonce, TeeKey key) =>
        new(new RuntimeData(nonce, key.PublicJson), new TeeEvidence(SampleAttester.Evidence(nonce, key.PublicJson), ""));

    public static KbsAttestation SnpAttestation(string nonce, TeeKey key)
    {
        using var evidence = JsonDocument.Parse(Veil.Tests.Shared.Vectors.Text("trustee", "attestation-service", "tests", "e2e", "evidence.json"));
        return new(new RuntimeData(nonce, key.PublicJson), new TeeEvidence(evidence.RootElement.Clone(), ""));
    }
}
