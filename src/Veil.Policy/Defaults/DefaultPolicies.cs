using System.Reflection;
using Veil.Policy.Model;
using Veil.Policy.ReferenceValues;

namespace Veil.Policy;

/// <summary>Policies shipped inside Veil, addressable by name (<c>--policy strict</c>).</summary>
public static class DefaultPolicies
{
    public const string Strict = "strict";

    /// <summary>Accepts the sample TEE (no hardware): tests, demos and the quickstart only.</summary>
    public const string Sample = "sample";

    public static IReadOnlyList<string> Names { get; } = [Strict, Sample];

    /// <summary>The text of a shipped policy, or null when there is no shipped policy of that name.</summary>
    public static string? Text(string name)
    {
        if (!Names.Contains(name, StringComparer.Ordinal))
        {
            return null;
        }

        using var s = Assembly.GetExecutingAssembly().GetManifestResourceStream($"Veil.Policy.Defaults.{name}.yaml")
            ?? throw new InvalidOperationException($"embedded policy {name} missing from the build");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    /// <summary>Loads a shipped policy by name or a policy file by path.</summary>
    public static AttestationPolicy Load(string nameOrPath, IReferenceValueStore? store = null, IReadOnlyDictionary<string, string>? parameters = null) =>
        Text(nameOrPath) is { } text
            ? PolicyLoader.Parse(text, $"{nameOrPath}.yaml", store, parameters)
            : PolicyLoader.Load(nameOrPath, store, parameters);
}
