using System.Diagnostics.CodeAnalysis;

namespace Veil.Bridge.Platforms;

/// <summary>The built-in platform profiles (embedded YAML) and the loader for profile files.</summary>
internal static class PlatformCatalog
{
    private static readonly Lazy<IReadOnlyDictionary<string, PlatformProfile>> BuiltIn = new(LoadBuiltIn);

    public static IReadOnlyCollection<PlatformProfile> All => [.. BuiltIn.Value.Values.OrderBy(p => p.Id, StringComparer.Ordinal)];

    /// <summary>A built-in id, or the path of a profile YAML file.</summary>
    public static PlatformProfile Resolve(string idOrPath)
    {
        if (BuiltIn.Value.TryGetValue(idOrPath, out var p))
        {
            return p;
        }

        if (idOrPath.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || idOrPath.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
        {
            return Parse(YamlData.ReadFile(idOrPath, "--platform"), idOrPath);
        }

        throw new BridgeInputException("--platform", $"unknown platform '{idOrPath}' (built-in: {string.Join(", ", BuiltIn.Value.Keys.Order(StringComparer.Ordinal))}, or a .yaml file)");
    }

    internal static PlatformProfile Parse(string yaml, string origin)
    {
        var dto = YamlData.Parse<PlatformDto>(yaml, origin);
        var id = Required(dto.Id, origin, "id");
        var name = Required(dto.Name, origin, "name");
        var testbed = Required(dto.Testbed, origin, "testbed");
        if (dto.Parameters is null)
        {
            throw new BridgeInputException($"{origin}: parameters", "missing");
        }

        var values = new Dictionary<string, SourcedValue>(StringComparer.Ordinal);
        foreach (var (key, p) in dto.Parameters)
        {
            var field = $"{origin}: parameters.{key}";
            if (!PlatformProfile.RequiredParameters.Contains(key))
            {
                throw new BridgeInputException(field, "unknown parameter");
            }

            if (p?.Value is not double v || !double.IsFinite(v))
            {
                throw new BridgeInputException(field, "value missing or not a number");
            }

            if (v < 0 || (v == 0 && !key.EndsWith("toll_us", StringComparison.Ordinal) && !key.EndsWith("alloc_init_s", StringComparison.Ordinal)))
            {
                throw new BridgeInputException(field, $"must be positive, got {v}");
            }

            if (key.EndsWith("efficiency", StringComparison.Ordinal) || key == "host.remote_numa_factor")
            {
                if (v > 1)
                {
                    throw new BridgeInputException(field, $"is a fraction, got {v}");
                }
            }

            if (string.IsNullOrWhiteSpace(p.Source))
            {
                throw new BridgeInputException(field, "every parameter must cite its source");
            }

            values[key] = new SourcedValue(v, p.Unit ?? string.Empty, p.Source.Trim());
        }

        var missing = PlatformProfile.RequiredParameters.Where(k => !values.ContainsKey(k)).ToList();
        if (missing.Count > 0)
        {
            throw new BridgeInputException($"{origin}: parameters", $"missing {string.Join(", ", missing)}");
        }

        return new PlatformProfile(id, name, testbed, values);
    }

    private static string Required(string? v, string origin, string field) =>
        string.IsNullOrWhiteSpace(v) ? throw new BridgeInputException($"{origin}: {field}", "missing") : v.Trim();

    private static Dictionary<string, PlatformProfile> LoadBuiltIn()
    {
        var d = new Dictionary<string, PlatformProfile>(StringComparer.Ordinal);
        foreach (var name in YamlData.ResourceNames("platforms"))
        {
            var p = Parse(YamlData.Resource(name), name);
            d.Add(p.Id, p);
        }

        return d;
    }

    [SuppressMessage("Performance", "CA1812", Justification = "Instantiated by YamlDotNet.")]
    private sealed class PlatformDto
    {
        public string? Id { get; set; }

        public string? Name { get; set; }

        public string? Testbed { get; set; }

        public Dictionary<string, ParameterDto?>? Parameters { get; set; }
    }

    [SuppressMessage("Performance", "CA1812", Justification = "Instantiated by YamlDotNet.")]
    private sealed class ParameterDto
    {
        public double? Value { get; set; }

        public string? Unit { get; set; }

        public string? Source { get; set; }
    }
}
