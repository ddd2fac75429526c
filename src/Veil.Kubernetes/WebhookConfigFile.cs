using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace Veil.Kubernetes;

/// <summary>
/// <c>--config webhook.yaml|.json</c> (JSON is read as YAML, of which it is a subset). Unknown keys are errors so that a
/// typo cannot silently fall back to a default.
/// </summary>
public static class WebhookConfigFile
{
    internal static readonly string[] Keys =
        ["allowed-runtime-classes", "cc-off-runtime-classes", "gpu-resource-names", "gpu-resource-prefixes",
         "resource-claims-trigger", "unseal-image", "key-source", "broker-url", "model-mount-path", "model-size-limit", "gateway-tsm-root"];

    public static WebhookOptions Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new WebhookConfigurationException($"--config: file not found: {path}");
        }

        return Parse(File.ReadAllText(path), path);
    }

    public static WebhookOptions Parse(string text, string where)
    {
        object? root;
        try
        {
            root = new DeserializerBuilder().Build().Deserialize<object?>(text);
        }
        catch (YamlException e)
        {
            throw new WebhookConfigurationException($"{where}: not valid YAML/JSON at line {e.Start.Line}: {e.Message}");
        }

        var options = new WebhookOptions();
        if (root is null)
        {
            return options;
        }

        if (root is not Dictionary<object, object> map)
        {
            throw new WebhookConfigurationException($"{where}: expected a mapping of settings at the top level");
        }

        foreach (var (k, value) in map)
        {
            var key = k as string ?? "";
            options = key switch
            {
                "allowed-runtime-classes" => options with { AllowedRuntimeClasses = NonEmptyList(value, key, where) },
                "cc-off-runtime-classes" => options with { CcOffRuntimeClasses = List(value, key, where) },
                "gpu-resource-names" => options with { GpuResourceNames = List(value, key, where) },
                "gpu-resource-prefixes" => options with { GpuResourcePrefixes = Prefixes(value, key, where) },
                "resource-claims-trigger" => options with { ResourceClaimsTrigger = Bool(value, key, where) },
                "unseal-image" => options with { UnsealImage = Text(value, key, where) },
                "key-source" => options with { KeySource = KeySource(Text(value, key, where), $"{where}: {key}") },
                "broker-url" => options with { BrokerUrl = BrokerUrl(Text(value, key, where), $"{where}: {key}") },
                "model-mount-path" => options with { ModelMountPath = AbsolutePath(Text(value, key, where), $"{where}: {key}") },
                "model-size-limit" => options with { ModelSizeLimit = Text(value, key, where) },
                "gateway-tsm-root" => options with { GatewayTsmRoot = AbsolutePath(Text(value, key, where), $"{where}: {key}") },
                _ => throw new WebhookConfigurationException($"{where}: unknown setting '{key}' (known: {string.Join(", ", Keys)})"),
            };
        }

        if (options.KeySource == UnsealKeySource.Broker && options.BrokerUrl is null)
        {
            throw new WebhookConfigurationException($"{where}: key-source broker needs broker-url");
        }

        if (options.AllowedRuntimeClasses.Intersect(options.CcOffRuntimeClasses, StringComparer.Ordinal).FirstOrDefault() is { } both)
        {
            throw new WebhookConfigurationException($"{where}: '{both}' is both an allowed and a CC-off runtime class");
        }

        return options;
    }

    private static UnsealKeySource KeySource(string value, string where) => value switch
    {
        "cdh" => UnsealKeySource.Cdh,
        "broker" => UnsealKeySource.Broker,
        _ => throw new WebhookConfigurationException($"{where}: '{value}' is not a key source (cdh: the guest's confidential-data-hub, the default; broker: the agent attests itself)"),
    };

    /// <summary>The broker carries keys: only https, except loopback http for tests.</summary>
    public static Uri BrokerUrl(string value, string where)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != "https" && !(uri.Scheme == "http" && uri.IsLoopback)))
        {
            throw new WebhookConfigurationException($"{where}: '{value}' is not an https URL (plain http only on loopback)");
        }

        return uri;
    }

    private static string AbsolutePath(string value, string where) =>
        value.StartsWith('/') && !value.Split('/').Contains("..", StringComparer.Ordinal)
            ? value.TrimEnd('/') is { Length: > 0 } p ? p : throw new WebhookConfigurationException($"{where}: '/' cannot be the mount path")
            : throw new WebhookConfigurationException($"{where}: '{value}' must be an absolute path without '..'");

    private static bool Bool(object? value, string key, string where) => value switch
    {
        "true" => true,
        "false" => false,
        _ => throw new WebhookConfigurationException($"{where}: {key}: expected true or false"),
    };

    private static string Text(object? value, string key, string where) =>
        value is string { Length: > 0 } s ? s : throw new WebhookConfigurationException($"{where}: {key}: expected a non-empty string");

    private static List<string> List(object? value, string key, string where) =>
        value is List<object> list
            ? list.Select(v => v as string is { Length: > 0 } s ? s : throw new WebhookConfigurationException($"{where}: {key}: every entry must be a non-empty string")).ToList()
            : throw new WebhookConfigurationException($"{where}: {key}: expected a list of strings");

    private static List<string> NonEmptyList(object? value, string key, string where) =>
        List(value, key, where) is { Count: > 0 } l ? l : throw new WebhookConfigurationException($"{where}: {key}: at least one class is needed (an empty list would refuse every GPU pod)");

    /// <summary>A prefix must carry a domain and a slash: an empty or bare prefix would match every resource.</summary>
    private static List<string> Prefixes(object? value, string key, string where)
    {
        var list = List(value, key, where);
        foreach (var p in list)
        {
            var slash = p.IndexOf('/', StringComparison.Ordinal);
            if (slash <= 0)
            {
                throw new WebhookConfigurationException($"{where}: {key}: '{p}' must start with a domain and '/', e.g. nvidia.com/GH");
            }
        }

        return list;
    }
}
