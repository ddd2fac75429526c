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

    // A session lives its full timeout after the handshake, so at a steady rate the attested ones are most of the
    // table (20 000 by default): the token is kept as its ASCII bytes (a JWS is base64url and dots), half the size of
    // the string, and decoded only for the release that needs it.
    private byte[]? _token;

    public bool HasToken => _token is not null;

    public string? Token
    {
        get => _token is null ? null : System.Text.Encoding.ASCII.GetString(_token);
        set => _token = value is null ? null : System.Text.Encoding.ASCII.GetBytes(value);
    }

    /// <summary>SHA-256 of the token, without decoding it: how a replica recognises the token it imported a key for.</summary>
    public byte[]? TokenDigest() => _token is null ? null : System.Security.Cryptography.SHA256.HashData(_token);

    /// <summary>The attested EC tee-pubkey as imported (point checked) at /attest, reused to encrypt resources.</summary>
    public System.Security.Cryptography.ECDiffieHellman? TeeKey { get; set; }

    public override string ToString() => $"session(tee={Tee})"; // the id is a credential: never print it
}
