using System.Security.Cryptography;
using Veil.Broker.Secrets;
using Veil.Protocol.Jose;

namespace Veil.Broker.Keys;

/// <summary>
/// The keys in a data directory: the token-signing key (ES256, published in the JWKS) and the admin public key
/// that admin JWTs must be signed with. The admin private key is only used by <c>veil broker init</c>.
/// </summary>
internal sealed class BrokerKeys : IDisposable
{
    public const string TokenSigningKeyFile = "token-signing-key.pem";
    public const string AdminPublicKeyFile = "admin-public.pem";
    public const string AdminPrivateKeyFile = "admin-key.pem";
    public const string AdminTokenFile = "admin.token";

    private BrokerKeys(ECDsa tokenSigningKey, ECDsa adminPublicKey)
    {
        TokenSigningKey = tokenSigningKey;
        AdminPublicKey = adminPublicKey;
        TokenJwk = Jwk.FromEcdsa(tokenSigningKey, JoseAlgorithms.Es256);
        TokenJwk = TokenJwk with { Kid = TokenJwk.Thumbprint() };
    }

    public ECDsa TokenSigningKey { get; }

    public ECDsa AdminPublicKey { get; }

    /// <summary>The public token key, with its RFC 7638 thumbprint as <c>kid</c>.</summary>
    public Jwk TokenJwk { get; }

    public static BrokerKeys Load(string dataDir) => new(
        KeyFiles.ReadEcPrivateKey(Path.Combine(dataDir, TokenSigningKeyFile)),
        KeyFiles.ReadEcPublicKey(Path.Combine(dataDir, AdminPublicKeyFile)));

    public void Dispose()
    {
        TokenSigningKey.Dispose();
        AdminPublicKey.Dispose();
    }
}
