using System.Security.Cryptography;
using System.Text.Json;
using Veil.Protocol.Jose;

namespace Veil.Protocol.Client;

/// <summary>
/// The ephemeral key pair a TEE sends as <c>tee-pubkey</c>: EC P-256 (ECDH-ES+A256KW, the guest default) or
/// RSA-2048 (RSA-OAEP-256). The private half never leaves this object.
/// </summary>
public sealed class TeeKey : IDisposable
{
    private readonly ECDiffieHellman? _ec;
    private readonly RSA? _rsa;

    private TeeKey(ECDiffieHellman? ec, RSA? rsa)
    {
        _ec = ec;
        _rsa = rsa;
        PublicJwk = ec is not null ? Jwk.FromEcdh(ec) : Jwk.FromRsa(rsa!);
        PublicJson = PublicJwk.ToJsonElement();
    }

    public Jwk PublicJwk { get; }

    public JsonElement PublicJson { get; }

    public static TeeKey CreateEc(string crv = "P-256") => new(ECDiffieHellman.Create(new Jwk("EC", crv, null, null, null, null, null).Curve), null);

    public static TeeKey CreateRsa() => new(null, RSA.Create(2048));

    public byte[] Decrypt(FlattenedJwe jwe) => _ec is not null ? Jwe.Decrypt(jwe, _ec) : Jwe.Decrypt(jwe, _rsa!);

    public void Dispose()
    {
        _ec?.Dispose();
        _rsa?.Dispose();
    }
}
