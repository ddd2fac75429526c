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

    /// <summary>The token-signing key as PEM, instead of the file (replicas take it from a Kubernetes Secret this way).</summary>
    public const string TokenSigningKeyVariable = "VEIL_TOKEN_SIGNING_KEY";

    private BrokerKeys(ECDsa tokenSigningKey, ECDsa? adminPublicKey, IReadOnlyList<ECDsa> extraEc, IReadOnlyList<Ed25519PublicKey> ed25519)
    {
        TokenSigningKey = tokenSigningKey;
        AdminPublicKey = adminPublicKey;
        AdminEcKeys = adminPublicKey is null ? extraEc : [adminPublicKey, .. extraEc];
        AdminEd25519Keys = ed25519;
        TokenJwk = Jwk.FromEcdsa(tokenSigningKey, JoseAlgorithms.Es256);
        TokenJwk = TokenJwk with { Kid = TokenJwk.Thumbprint() };
    }

    public ECDsa TokenSigningKey { get; }

    /// <summary>The data directory's admin key; null when only --admin-public-key names them (replicas).</summary>
    public ECDsa? AdminPublicKey { get; }

    /// <summary>Keys that may sign ES256 admin tokens: the data directory's own, then any --admin-public-key.</summary>
    public IReadOnlyList<ECDsa> AdminEcKeys { get; }

    /// <summary>Keys that may sign EdDSA admin tokens (e.g. a Trustee deployment's admin key).</summary>
    public IReadOnlyList<Ed25519PublicKey> AdminEd25519Keys { get; }

    /// <summary>The public token key, with its RFC 7638 thumbprint as <c>kid</c>.</summary>
    public Jwk TokenJwk { get; }

    /// <summary>
    /// The token-signing key from <see cref="TokenSigningKeyVariable"/> or the data directory; the admin keys from
    /// the data directory's admin-public.pem and every --admin-public-key (the file may be absent when those are given,
    /// as replicas do: their data directory holds no keys). <paramref name="sharedStore"/>: replicas on PostgreSQL,
    /// which must all sign with the same key, so a missing one is refused with that fix.
    /// </summary>
    public static BrokerKeys Load(string dataDir, IReadOnlyList<string>? adminPublicKeys = null, Func<string, string?>? environment = null, bool sharedStore = false)
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

        var signingPath = Path.Combine(dataDir, TokenSigningKeyFile);
        var pem = environment?.Invoke(TokenSigningKeyVariable);
        if (string.IsNullOrWhiteSpace(pem) && sharedStore && !File.Exists(signingPath))
        {
            throw new BrokerConfigurationException(
                $"token-signing key not found: {signingPath}, and {TokenSigningKeyVariable} is not set; with a PostgreSQL store every replica must sign with the same key: " +
                $"set {TokenSigningKeyVariable} to the PEM of the token-signing-key.pem that 'veil broker init' wrote (in Kubernetes from a Secret; docs/replicas.md)");
        }

        var adminPath = Path.Combine(dataDir, AdminPublicKeyFile);
        if (!File.Exists(adminPath) && ec.Count + ed.Count == 0)
        {
            throw new BrokerConfigurationException($"key file not found: {adminPath} (run 'veil broker init', or name the admin public key with --admin-public-key)");
        }

        var signing = !string.IsNullOrWhiteSpace(pem)
            ? KeyFiles.ParseEcPrivateKey(pem, TokenSigningKeyVariable)
            : KeyFiles.ReadEcPrivateKey(signingPath);
        return new(signing, File.Exists(adminPath) ? KeyFiles.ReadEcPublicKey(adminPath) : null, ec, ed);
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
