using Veil.Broker.Storage;

namespace Veil.Broker;

/// <summary>How a broker runs. Built by <c>veil broker serve</c> from flags and an optional config file.</summary>
public sealed record BrokerOptions
{
    public string DataDir { get; init; } = "./veil-data";

    /// <summary>
    /// The store: SQLite in the data directory (one replica) or PostgreSQL (any number of replicas sharing it). The
    /// data directory still holds the keys either way. Prints without credentials.
    /// </summary>
    public StoreLocation Store { get; init; } = StoreLocation.Sqlite;

    /// <summary>
    /// Where the master key lives: null or <c>file</c> (VEIL_MASTER_KEY, else DATA_DIR/master.key), <c>file:PATH</c>, or
    /// an RFC 7512 <c>pkcs11:token=…;object=…</c> URI (docs/keys.md). New values are wrapped under it.
    /// </summary>
    public string? MasterKey { get; init; }

    /// <summary>Further master keys that stored rows may still be wrapped under (during and after a rotation); opened, never used to wrap.</summary>
    public IReadOnlyList<string> PreviousMasterKeys { get; init; } = [];

    /// <summary>How long a starting replica waits for an unreachable PostgreSQL before it gives up.</summary>
    internal TimeSpan StoreStartupWait { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How often a PostgreSQL replica also polls the configuration version (notifications are the fast path).</summary>
    internal TimeSpan ConfigPollInterval { get; init; } = TimeSpan.FromSeconds(5);

    public IReadOnlyList<string> Urls { get; init; } = ["http://127.0.0.1:8080"];

    /// <summary>Accept the sample TEE (no hardware evidence). Testing only.</summary>
    public bool AllowSample { get; init; }

    /// <summary>Allow plain HTTP on non-loopback addresses.</summary>
    public bool InsecureHttp { get; init; }

    public string? TlsCertificatePath { get; init; }

    public string? TlsKeyPath { get; init; }

    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromMinutes(5);

    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The attestation policy tokens are appraised with, and that every resource needs unless a resource policy
    /// says otherwise: a shipped name (<c>strict</c>, <c>sample</c>) or a policy file. Strict unless told otherwise.
    /// </summary>
    public string Policy { get; init; } = "strict";

    /// <summary>Values for the policy's parameters (strict's SNP TCB minimums), <c>name → value</c>.</summary>
    public IReadOnlyDictionary<string, string> PolicyParameters { get; init; } = new Dictionary<string, string>();

    /// <summary>A resource-policy file used until an admin posts one (which is then stored and wins).</summary>
    public string? ResourcePolicyPath { get; init; }

    /// <summary>AMD collateral for SNP in the KDS cache layout (VCEK/VLEK, cert chains), for evidence that carries none; offline.</summary>
    public string? SnpCollateralDir { get; init; }

    /// <summary>AMD KDS (or a mirror) to fetch a missing VCEK from, cached in DATA_DIR/collateral/snp.</summary>
    public Uri? KdsUrl { get; init; }

    /// <summary>Intel collateral for TDX, as PCS response bodies (see <c>TdxDirectoryCollateral</c>); offline.</summary>
    public string? TdxCollateralDir { get; init; }

    /// <summary>Intel PCS or a PCCS to fetch TDX collateral from, cached under the data directory.</summary>
    public Uri? PcsUrl { get; init; }

    /// <summary>NVIDIA RIMs and OCSP responses (rims/*.xml, ocsp/*.der); offline.</summary>
    public string? NvidiaCollateralDir { get; init; }

    /// <summary>NVIDIA's RIM service (and its OCSP responder) to fetch from, cached under the data directory.</summary>
    public Uri? NvidiaRimServiceUrl { get; init; }

    /// <summary>Further admin public keys (PEM; Ed25519 for EdDSA tokens, EC P-256 for ES256), e.g. a Trustee admin key.</summary>
    public IReadOnlyList<string> AdminPublicKeyPaths { get; init; } = [];

    /// <summary>Reference-value files loaded at start, next to the values posted to the admin endpoint.</summary>
    public IReadOnlyList<string> ReferenceValuePaths { get; init; } = [];

    public const int DefaultAuditUnauthenticatedPerMinute = 60;

    /// <summary>Live RCAR sessions at most, all clients together; /auth answers 429 past it.</summary>
    public int MaxSessions { get; init; } = Rcar.SessionLimits.DefaultTotal;

    /// <summary>Live RCAR sessions at most per client address (IPv6: per /64).</summary>
    public int MaxSessionsPerClient { get; init; } = Rcar.SessionLimits.DefaultPerClient;

    /// <summary>Per-client request rates for /auth, /attest (and resource GETs) and the admin endpoints.</summary>
    public Limits.RateLimitSettings RateLimits { get; init; } = new();

    /// <summary>Audit rows older than this are pruned, whatever they record.</summary>
    public TimeSpan AuditRetention { get; init; } = TimeSpan.FromDays(90);

    /// <summary>Audit rows that are not releases or admin changes are pruned, oldest first, past this many.</summary>
    public int AuditMaxRows { get; init; } = 100_000;

    /// <summary>Unauthenticated refusals recorded one row each per minute; past it they are counted into a summary row.</summary>
    public int AuditUnauthenticatedPerMinute { get; init; } = DefaultAuditUnauthenticatedPerMinute;

    /// <summary>When set, local admin tokens must name this audience in <c>aud</c>.</summary>
    public string? AdminAudience { get; init; }

    /// <summary>An OIDC issuer whose tokens are admin tokens (docs/admin-identities.md); its subjects' roles are <see cref="AdminRoles"/>.</summary>
    public string? AdminOidcIssuer { get; init; }

    /// <summary>The audience OIDC admin tokens must name (required with <see cref="AdminOidcIssuer"/>).</summary>
    public string? AdminOidcAudience { get; init; }

    /// <summary>The issuer's JWKS as a file, instead of fetching it through the discovery document.</summary>
    public string? AdminOidcJwksFile { get; init; }

    /// <summary>Signature algorithms OIDC admin tokens may use (default RS256, ES256).</summary>
    public IReadOnlyList<string> AdminOidcAlgorithms { get; init; } = [];

    /// <summary>Role bindings, <c>subject=role[,role…]</c> (roles: admin, tenant-admin:&lt;repository&gt;, auditor, policy-admin).</summary>
    public IReadOnlyList<string> AdminRoles { get; init; } = [];
}
