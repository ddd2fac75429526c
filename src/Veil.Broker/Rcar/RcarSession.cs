namespace Veil.Broker.Rcar;

/// <summary>
/// One RCAR session. The nonce is single use: it is consumed by the first /attest, whatever the outcome.
/// Expiry is fixed at creation (not extended by attest), as in Trustee. With a shared backend this object is a
/// copy of the stored row as of the lookup; the backend's conditional writes, not this copy, decide.
/// </summary>
internal sealed class RcarSession(string id, string tee, string nonce, DateTimeOffset expires)
{
    public string Id { get; } = id;

    public string Tee { get; } = tee;

    public string Nonce { get; } = nonce;

    public DateTimeOffset Expires { get; } = expires;

    public bool NonceUsed { get; set; }

    public string? Token { get; set; }

    /// <summary>The attested EC tee-pubkey as imported (point checked) at /attest, reused to encrypt resources.</summary>
    public System.Security.Cryptography.ECDiffieHellman? TeeKey { get; set; }

    public override string ToString() => $"session(tee={Tee})"; // the id is a credential: never print it
}
