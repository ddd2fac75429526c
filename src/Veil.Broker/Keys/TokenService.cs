using Veil.Protocol.Ear;
using Veil.Protocol.Jose;
using Veil.Protocol.Messages;

namespace Veil.Broker.Keys;

/// <summary>Issues and re-verifies the broker's EAR tokens; publishes the verification key as a JWKS.</summary>
internal sealed class TokenService(BrokerKeys keys, TimeProvider time, TimeSpan lifetime)
{
    public const string Issuer = "veil-broker";
    private readonly EarTokenVerifier _verifier = new([keys.TokenJwk], Issuer, time);

    public string Issue(IReadOnlyDictionary<string, EarSubmodule> submodules) =>
        EarToken.Issue(keys.TokenSigningKey, keys.TokenJwk.Kid!, Issuer, time.GetUtcNow(), lifetime, submodules);

    public Task<EarClaims> VerifyAsync(string token) => _verifier.VerifyAsync(token);

    public byte[] Jwks() => KbsJson.Serialize(w =>
    {
        w.WriteStartObject();
        w.WriteStartArray("keys");
        keys.TokenJwk.WriteTo(w, use: "sig");
        w.WriteEndArray();
        w.WriteEndObject();
    });
}
