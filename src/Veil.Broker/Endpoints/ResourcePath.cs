using System.Text.RegularExpressions;

namespace Veil.Broker.Endpoints;

/// <summary>
/// <c>repository/type/tag</c>. Each segment is [A-Za-z0-9._-], never "." or "..": resource names are keys,
/// not file paths, and an encoded slash or dot segment in the raw request target is refused outright.
/// </summary>
internal static partial class ResourcePath
{
    public const string Prefix = "/kbs/v0/resource/";

    public static string? Validate(string repository, string type, string tag, out string name)
    {
        name = $"{repository}/{type}/{tag}";
        foreach (var (label, value) in new[] { ("repository", repository), ("type", type), ("tag", tag) })
        {
            if (value is "." or ".." || !Segment().IsMatch(value))
            {
                return $"resource path {label} '{Problems.CallerText.Echo(value, 64)}' is not allowed: use letters, digits, '.', '_' and '-' only (no '..', no slashes)";
            }
        }

        return null;
    }

    /// <summary>A repository, type or tag: [A-Za-z0-9._-], 1 to 128 characters, never "." or "..".</summary>
    public static bool IsSegment(string value) => value is not ("." or "..") && Segment().IsMatch(value);

    /// <summary>Checks the undecoded request target, before any normalisation could hide a traversal.</summary>
    public static string? CheckRawTarget(string rawTarget)
    {
        var path = rawTarget.Split('?', 2)[0];
        if (!path.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) && !path.StartsWith("/kbs/v0/resource%2", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var lower = path.ToLowerInvariant();
        if (lower.Contains("%2f", StringComparison.Ordinal) || lower.Contains("%5c", StringComparison.Ordinal) || lower.Contains('\\', StringComparison.Ordinal))
        {
            return "resource path contains an encoded slash or a backslash; each of repository/type/tag is one plain segment";
        }

        var segments = lower.Split('/');
        if (segments.Any(s => s is "." or ".." || s.Replace("%2e", ".", StringComparison.Ordinal) is "." or ".."))
        {
            return "resource path contains a '.' or '..' segment; path traversal is not allowed";
        }

        return null;
    }

    [GeneratedRegex("^[A-Za-z0-9._-]{1,128}$", RegexOptions.CultureInvariant)]
    private static partial Regex Segment();
}
