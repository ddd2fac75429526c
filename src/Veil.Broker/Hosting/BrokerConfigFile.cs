using System.Globalization;
using Tomlyn;
using Tomlyn.Model;
using Tomlyn.Parsing;
using Tomlyn.Syntax;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace Veil.Broker.Hosting;

/// <summary>
/// <c>--config veil.yaml|veil.toml</c>: the same settings as the serve flags (flags win). Deliberately absent:
/// anything that weakens verification (the sample TEE needs the --allow-sample flag itself; the report-data
/// binding cannot be configured at all).
/// </summary>
public static class BrokerConfigFile
{
    private static readonly string[] Keys =
        ["data-dir", "store", "urls", "insecure-http", "tls-cert", "tls-key", "session-timeout-minutes", "token-lifetime-minutes",
         "policy", "policy-params", "resource-policy", "reference-values",
         "snp-collateral-dir", "kds-url", "tdx-collateral-dir", "pcs-url", "nvidia-collateral-dir", "nvidia-rim-service", "admin-public-keys",
         "master-key", "previous-master-keys", "admin-audience", "admin-oidc-issuer", "admin-oidc-audience", "admin-oidc-jwks-file", "admin-oidc-algorithms", "admin-roles", "max-sessions", "max-sessions-per-client", "rate-limit-auth", "rate-limit-attest", "rate-limit-admin",
         "audit-retention-days", "audit-max-rows", "audit-unauthenticated-per-minute"];

    public static BrokerOptions Apply(string path, BrokerOptions options)
    {
        if (!File.Exists(path))
        {
            throw new BrokerConfigurationException($"--config: file not found: {path}");
        }

        var text = File.ReadAllText(path);
        var values = path.EndsWith(".toml", StringComparison.OrdinalIgnoreCase) ? ParseToml(text, path)
            : path.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".yml", StringComparison.OrdinalIgnoreCase) ? ParseYaml(text, path)
            : throw new BrokerConfigurationException($"--config: {path}: use a .yaml, .yml or .toml file");

        foreach (var (key, value) in values)
        {
            if (key == "allow-sample")
            {
                throw new BrokerConfigurationException($"{path}: allow-sample cannot be set in a config file; pass --allow-sample explicitly (testing only)");
            }

            if (Array.IndexOf(Keys, key) < 0)
            {
                throw new BrokerConfigurationException($"{path}: unknown setting '{key}' (known: {string.Join(", ", Keys)})");
            }

            options = key switch
            {
                "data-dir" => options with { DataDir = AsString(value, key, path) },
                "store" => options with { Store = Storage.StoreLocation.Parse(AsString(value, key, path), $"{path}: store") },
                "urls" => options with { Urls = value is List<object> list ? list.Select(v => AsString(v, key, path)).ToList() : [AsString(value, key, path)] },
                "insecure-http" => options with { InsecureHttp = AsBool(value, key, path) },
                "tls-cert" => options with { TlsCertificatePath = AsString(value, key, path) },
                "tls-key" => options with { TlsKeyPath = AsString(value, key, path) },
                "session-timeout-minutes" => options with { SessionTimeout = TimeSpan.FromMinutes(AsMinutes(value, key, path)) },
                "policy" => options with { Policy = AsString(value, key, path) },
                "policy-params" => options with { PolicyParameters = ParsePolicyParameters(AsList(value, key, path), $"{path}: {key}") },
                "resource-policy" => options with { ResourcePolicyPath = AsString(value, key, path) },
                "reference-values" => options with { ReferenceValuePaths = AsList(value, key, path) },
                "admin-public-keys" => options with { AdminPublicKeyPaths = AsList(value, key, path) },
                "master-key" => options with { MasterKey = AsString(value, key, path) },
                "previous-master-keys" => options with { PreviousMasterKeys = AsList(value, key, path) },
                "snp-collateral-dir" => options with { SnpCollateralDir = AsString(value, key, path) },
                "kds-url" => options with { KdsUrl = AsUrl(AsString(value, key, path), $"{path}: {key}") },
                "tdx-collateral-dir" => options with { TdxCollateralDir = AsString(value, key, path) },
                "pcs-url" => options with { PcsUrl = AsUrl(AsString(value, key, path), $"{path}: {key}") },
                "nvidia-collateral-dir" => options with { NvidiaCollateralDir = AsString(value, key, path) },
                "nvidia-rim-service" => options with { NvidiaRimServiceUrl = AsUrl(AsString(value, key, path), $"{path}: {key}") },
                "admin-audience" => options with { AdminAudience = AsString(value, key, path) },
                "admin-oidc-issuer" => options with { AdminOidcIssuer = AsString(value, key, path) },
                "admin-oidc-audience" => options with { AdminOidcAudience = AsString(value, key, path) },
                "admin-oidc-jwks-file" => options with { AdminOidcJwksFile = AsString(value, key, path) },
                "admin-oidc-algorithms" => options with { AdminOidcAlgorithms = AsList(value, key, path) },
                // Parsed here too, so that a wrong entry is named with the file it is in.
                "admin-roles" => options with { AdminRoles = AdminRolesList(AsList(value, key, path), $"{path}: {key}") },
                "max-sessions" => options with { MaxSessions = AsCount(value, key, path, 10_000_000) },
                "max-sessions-per-client" => options with { MaxSessionsPerClient = AsCount(value, key, path, 10_000_000) },
                "rate-limit-auth" => options with { RateLimits = options.RateLimits with { AuthPerSecond = AsCount(value, key, path, Limits.RateLimitSettings.Max) } },
                "rate-limit-attest" => options with { RateLimits = options.RateLimits with { AttestPerSecond = AsCount(value, key, path, Limits.RateLimitSettings.Max) } },
                "rate-limit-admin" => options with { RateLimits = options.RateLimits with { AdminPerSecond = AsCount(value, key, path, Limits.RateLimitSettings.Max) } },
                "audit-retention-days" => options with { AuditRetention = TimeSpan.FromDays(AsCount(value, key, path, 36_500)) },
                "audit-max-rows" => options with { AuditMaxRows = AsCount(value, key, path, 100_000_000) },
                "audit-unauthenticated-per-minute" => options with { AuditUnauthenticatedPerMinute = AsCount(value, key, path, 1_000_000) },
                _ => options with { TokenLifetime = TimeSpan.FromMinutes(AsMinutes(value, key, path)) },
            };
        }

        return options;
    }

    /// <summary><c>name=value</c> pairs (flags and config files alike) into policy parameters.</summary>
    public static IReadOnlyDictionary<string, string> ParsePolicyParameters(IEnumerable<string> pairs, string where)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == pair.Length - 1)
            {
                throw new BrokerConfigurationException($"{where}: '{pair}' is not name=value");
            }

            if (!result.TryAdd(pair[..eq].Trim(), pair[(eq + 1)..].Trim()))
            {
                throw new BrokerConfigurationException($"{where}: parameter '{pair[..eq].Trim()}' given twice");
            }
        }

        return result;
    }

    /// <summary>An http(s) URL for a collateral service.</summary>
    public static Uri AsUrl(string value, string where) =>
        Uri.TryCreate(value, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"
            ? u
            : throw new BrokerConfigurationException($"{where}: '{value}' is not an http(s) URL");

    private static List<string> AdminRolesList(List<string> entries, string where)
    {
        Admin.RoleBindings.Parse(entries, where);
        return entries;
    }

    private static List<string> AsList(object value, string key, string path) =>
        value is List<object> list ? list.Select(v => AsString(v, key, path)).ToList() : [AsString(value, key, path)];

    private static Dictionary<string, object> ParseYaml(string text, string path)
    {
        try
        {
            var map = new DeserializerBuilder().Build().Deserialize<Dictionary<string, object>?>(text);
            return map ?? [];
        }
        catch (YamlException e)
        {
            throw new BrokerConfigurationException($"{path}: not valid YAML at line {e.Start.Line}: {e.Message}");
        }
    }

    /// <summary>
    /// A flat settings file in TOML (Tomlyn): <c>key = "string" | true/false | integer | ["a", "b"]</c>. Values come out
    /// in the shapes the YAML reader gives (scalars as text, arrays as lists), so both files are applied alike. The
    /// syntax parser goes first because Tomlyn's model keeps the last of a key given twice instead of refusing it.
    /// </summary>
    private static Dictionary<string, object> ParseToml(string text, string path)
    {
        DocumentSyntax syntax;
        try
        {
            syntax = SyntaxParser.Parse(text, path);
        }
        catch (ArgumentOutOfRangeException)
        {
            // Tomlyn 2.11.1 throws here instead of reporting a string cut off by the end of input right after a backslash.
            throw new BrokerConfigurationException($"{path}: not valid TOML: unterminated string at the end of the file");
        }

        if (syntax.Diagnostics.FirstOrDefault(d => d.Kind == DiagnosticMessageKind.Error) is { } error)
        {
            throw new BrokerConfigurationException($"{path}:{error.Span.Start.Line + 1}: not valid TOML: {error.Message}");
        }

        TomlTable model;
        try
        {
            model = TomlSerializer.Deserialize<TomlTable>(text) ?? [];
        }
        catch (TomlException e)
        {
            throw new BrokerConfigurationException($"{path}: not valid TOML: {e.Message}");
        }

        var result = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var (key, value) in model)
        {
            result[key] = value switch
            {
                TomlArray list => list.Select(v => (object)TomlScalar(v, key, path)).ToList(),
                _ => TomlScalar(value, key, path),
            };
        }

        return result;
    }

    private static string TomlScalar(object? value, string key, string path) => value switch
    {
        string s => s,
        bool b => b ? "true" : "false",
        long n => n.ToString(CultureInfo.InvariantCulture),
        TomlTable => throw new BrokerConfigurationException($"{path}: {key}: tables are not supported (one flat list of settings)"),
        _ => throw new BrokerConfigurationException($"{path}: {key}: unsupported value (use \"string\", true/false, an integer or [\"a\", \"b\"])"),
    };

    private static string AsString(object value, string key, string path) =>
        value as string ?? throw new BrokerConfigurationException($"{path}: {key}: expected a string");

    private static bool AsBool(object value, string key, string path) => value switch
    {
        "true" => true,
        "false" => false,
        _ => throw new BrokerConfigurationException($"{path}: {key}: expected true or false"),
    };

    private static int AsCount(object value, string key, string path, int max) =>
        value is string s && int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 1 && n <= max
            ? n
            : throw new BrokerConfigurationException($"{path}: {key}: expected a whole number between 1 and {max.ToString(CultureInfo.InvariantCulture)}");

    private static double AsMinutes(object value, string key, string path) =>
        value is string s && int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var m) && m is > 0 and <= 1440
            ? m
            : throw new BrokerConfigurationException($"{path}: {key}: expected whole minutes between 1 and 1440");
}
