using System.Security.Cryptography;
using Veil.Broker.Admin;
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

    private BrokerKeys(ECDsa tokenSigningKey, ECDsa adminPublicKey, IReadOnlyList<ECDsa> extraEc, IReadOnlyList<Ed25519PublicKey> ed25519)
    {
        TokenSigningKey = tokenSigningKey;
        AdminPublicKey = adminPublicKey;
        AdminEcKeys = [adminPublicKey, .. extraEc];
        AdminEd25519Keys = ed25519;
        TokenJwk = Jwk.FromEcdsa(tokenSigningKey, JoseAlgorithms.Es256);
        TokenJwk = TokenJwk with { Kid = TokenJwk.Thumbprint() };
    }

    public ECDsa TokenSigningKey { get; }

    public ECDsa AdminPublicKey { get; }

    /// <summary>Keys that may sign ES256 admin tokens: the data directory's own, then any --admin-public-key.</summary>
    public IReadOnlyList<ECDsa> AdminEcKeys { get; }

    /// <summary>Keys that may sign EdDSA admin tokens (e.g. a Trustee deployment's admin key).</summary>
    public IReadOnlyList<Ed25519PublicKey> AdminEd25519Keys { get; }

    /// <summary>The public token key, with its RFC 7638 thumbprint as <c>kid</c>.</summary>
    public Jwk TokenJwk { get; }

    public static BrokerKeys Load(string dataDir, IReadOnlyList<string>? adminPublicKeys = null)
    {
        var ec = new List<ECDsa>();
        var ed = new List<Ed25519PublicKey>();
        foreach (var path in adminPublicKeys ?? [])
        {
            if (KeyFiles.ReadAdminPublicKey(path) is Ed25519PublicKey edKey)
            {
                ed.Add(edKey);
            }
            else
            {
                ec.Add(KeyFiles.ReadEcPublicKey(path));
            }
        }

        return new(KeyFiles.ReadEcPrivateKey(Path.Combine(dataDir, TokenSigningKeyFile)), KeyFiles.ReadEcPublicKey(Path.Combine(dataDir, AdminPublicKeyFile)), ec, ed);
    }

    public void Dispose()
    {
        TokenSigningKey.Dispose();
        foreach (var k in AdminEcKeys)
        {
            k.Dispose();
        }
    }
}
