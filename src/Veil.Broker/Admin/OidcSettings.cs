namespace Veil.Broker.Admin;

/// <summary>
/// The OIDC issuer whose tokens are admin tokens here. <see cref="Issuer"/> is compared exactly with <c>iss</c> (and with
/// the discovery document's <c>issuer</c>); keys come from its discovery document's <c>jwks_uri</c>, or from
/// <see cref="JwksFile"/> when set (an issuer this broker cannot reach, or keys pinned by the operator).
/// </summary>
internal sealed record OidcSettings(string Issuer, string Audience, string? JwksFile, IReadOnlyList<string> Algorithms)
{
    /// <summary>What Microsoft.IdentityModel verifies with .NET's own crypto (it has no EdDSA).</summary>
    public static readonly IReadOnlyList<string> Supported = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"];

    public static readonly IReadOnlyList<string> DefaultAlgorithms = ["RS256", "ES256"];

    /// <summary>The fewest time between two fetches of the keys, however many unknown key ids callers send.</summary>
    public TimeSpan MinRefresh { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Keys are fetched again once this old (an issuer rotates its keys ahead of using new ones).</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromHours(6);

    /// <summary>Loopback issuers may be plain HTTP (tests, a sidecar); any other must be HTTPS.</summary>
    public bool RequireHttps => !(Uri.TryCreate(Issuer, UriKind.Absolute, out var u) && u.IsLoopback);

    /// <summary>
    /// From the broker options: null without an issuer; a <see cref="BrokerConfigurationException"/> naming the setting
    /// when the issuer is not a URL, the audience is missing (any token of the issuer would do) or an algorithm is not one
    /// the library verifies.
    /// </summary>
    public static OidcSettings? From(BrokerOptions options)
    {
        if (options.AdminOidcIssuer is not { } issuer)
        {
            return options.AdminOidcAudience is null && options.AdminOidcJwksFile is null
                ? null
                : throw new BrokerConfigurationException("admin-oidc-audience / admin-oidc-jwks-file: need admin-oidc-issuer");
        }

        if (!Uri.TryCreate(issuer, UriKind.Absolute, out var url) || url.Scheme is not ("https" or "http") || (url.Scheme == "http" && !url.IsLoopback))
        {
            throw new BrokerConfigurationException($"admin-oidc-issuer: '{issuer}' is not an https URL (plain http only on loopback)");
        }

        if (string.IsNullOrWhiteSpace(options.AdminOidcAudience))
        {
            throw new BrokerConfigurationException("admin-oidc-audience: required with admin-oidc-issuer (without it, a token the issuer made for any other service would be accepted)");
        }

        if (options.AdminOidcJwksFile is { } file && !File.Exists(file))
        {
            throw new BrokerConfigurationException($"admin-oidc-jwks-file: file not found: {file}");
        }

        var algorithms = options.AdminOidcAlgorithms.Count == 0 ? DefaultAlgorithms : options.AdminOidcAlgorithms;
        if (algorithms.FirstOrDefault(a => !Supported.Contains(a, StringComparer.Ordinal)) is { } bad)
        {
            throw new BrokerConfigurationException($"admin-oidc-algorithms: '{bad}' is not supported (supported: {string.Join(", ", Supported)})");
        }

        return new OidcSettings(issuer, options.AdminOidcAudience, options.AdminOidcJwksFile, algorithms.Distinct(StringComparer.Ordinal).ToList());
    }
}
