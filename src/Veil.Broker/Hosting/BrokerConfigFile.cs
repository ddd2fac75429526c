using System.Globalization;
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
         "tdx-collateral-dir", "pcs-url", "nvidia-collateral-dir", "nvidia-rim-service", "admin-public-keys"];

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
                "tdx-collateral-dir" => options with { TdxCollateralDir = AsString(value, key, path) },
                "pcs-url" => options with { PcsUrl = AsUrl(AsString(value, key, path), $"{path}: {key}") },
                "nvidia-collateral-dir" => options with { NvidiaCollateralDir = AsString(value, key, path) },
                "nvidia-rim-service" => options with { NvidiaRimServiceUrl = AsUrl(AsString(value, key, path), $"{path}: {key}") },
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

    /// <summary>The TOML subset a flat settings file needs: key = "string" | true/false | integer | ["a", "b"]; comments.</summary>
    private static Dictionary<string, object> ParseToml(string text, string path)
    {
        var result = new Dictionary<string, object>(StringComparer.Ordinal);
        var lineNo = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNo++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new BrokerConfigurationException($"{path}:{lineNo}: expected 'key = value' (tables and dotted keys are not supported)");
            }

            var key = line[..eq].Trim().Trim('"');
            var value = line[(eq + 1)..].Trim();
            result[key] = TomlValue(value, path, lineNo);
        }

        return result;
    }

    private static object TomlValue(string value, string path, int lineNo)
    {
        var hash = value.StartsWith('"') ? -1 : value.IndexOf('#', StringComparison.Ordinal);
        if (hash >= 0)
        {
            value = value[..hash].Trim();
        }

        if (value.StartsWith('[') && value.EndsWith(']'))
        {
            return value[1..^1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(v => TomlValue(v, path, lineNo)).ToList();
        }

        if (value.Length >= 2 && value.StartsWith('"') && value.IndexOf('"', 1) == value.Length - 1)
        {
            return value[1..^1];
        }

        if (value is "true" or "false")
        {
            return value;
        }

        if (long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
        {
            return value;
        }

        throw new BrokerConfigurationException($"{path}:{lineNo}: unsupported value '{value}' (use \"string\", true/false, an integer or [\"a\", \"b\"])");
    }

    private static string AsString(object value, string key, string path) =>
        value as string ?? throw new BrokerConfigurationException($"{path}: {key}: expected a string");

    private static bool AsBool(object value, string key, string path) => value switch
    {
        "true" => true,
        "false" => false,
        _ => throw new BrokerConfigurationException($"{path}: {key}: expected true or false"),
    };

    private static double AsMinutes(object value, string key, string path) =>
        value is string s && int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var m) && m is > 0 and <= 1440
            ? m
            : throw new BrokerConfigurationException($"{path}: {key}: expected whole minutes between 1 and 1440");
}
