using System.Globalization;
using Veil.Policy.Claims;
using YamlDotNet.RepresentationModel;

namespace Veil.Policy.Loading;

/// <summary>Turns a YAML/JSON scalar into the CLR value a claim of a given type holds, or a load error at its line.</summary>
internal sealed class ValueParser(PolicyYaml doc, IReadOnlyDictionary<string, ParameterValue> parameters)
{
    /// <summary>The scalar's text, with a plain <c>$name</c> replaced by that parameter's value.</summary>
    public string Text(YamlNode node, string claim)
    {
        var text = doc.Scalar(node, $"value for {claim}");
        if (!PolicyYaml.IsPlain(node) || !text.StartsWith('$'))
        {
            return text;
        }

        var name = text[1..];
        if (!parameters.TryGetValue(name, out var p))
        {
            throw doc.Error(node, $"unknown parameter '${name}' (declare it under 'parameters')");
        }

        return p.Value ?? throw doc.Error(node, $"parameter '{name}' has no value: supply it (e.g. --param {name}=...)");
    }

    public object Parse(YamlNode node, ClaimType type, string claim)
    {
        var text = Text(node, claim);
        var plain = PolicyYaml.IsPlain(node);

        switch (type)
        {
            case ClaimType.Boolean:
                if (plain && bool.TryParse(text, out var b))
                {
                    return b;
                }

                throw doc.Error(node, $"wrong type for {claim}: expected boolean (true/false), got '{text}'");
            case ClaimType.Number:
                if (plain && TryInteger(text, out var l))
                {
                    return l;
                }

                throw doc.Error(node, $"wrong type for {claim}: expected integer, got '{text}'");
            case ClaimType.Hex:
                var hex = NormalizeHex(text);
                // Empty is a value (a field of zero bytes, e.g. MRSERVICETD on TDX 1.0 quotes).
                if (!hex.All(char.IsAsciiHexDigit))
                {
                    throw doc.Error(node, $"wrong type for {claim}: expected hex text, got '{text}'");
                }

                return hex;
            case ClaimType.Version:
                if (ClaimValues.ParseVersion(text) is null)
                {
                    throw doc.Error(node, $"wrong type for {claim}: expected a dotted version such as 535.86.09, got '{text}'");
                }

                return text;
            default:
                return text;
        }
    }

    public static bool TryInteger(string text, out long value) =>
        text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? long.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)
            : long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

    public static string NormalizeHex(string text)
    {
        var t = text.Trim();
        return (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? t[2..] : t).ToLowerInvariant();
    }
}

/// <summary>A declared policy parameter and its value (null when the operator must still supply it).</summary>
internal sealed record ParameterValue(string Name, string? Value);
