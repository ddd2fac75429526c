using Veil.Bridge.Engine;

namespace Veil.Bridge.Workloads;

/// <summary>Typed checks of one field of a data file: each failure names the field and the reason.</summary>
internal static class FieldChecks
{
    public static Direction Direction(string? s, string field) => s?.Trim().ToLowerInvariant() switch
    {
        "h2d" => Engine.Direction.HostToDevice,
        "d2h" => Engine.Direction.DeviceToHost,
        null => throw new BridgeInputException(field, "missing (h2d or d2h)"),
        _ => throw new BridgeInputException(field, $"'{s}' is not h2d or d2h"),
    };

    public static T Enum<T>(string? s, string field)
        where T : struct, Enum
    {
        var names = string.Join(", ", System.Enum.GetNames<T>().Select(Kebab));
        if (string.IsNullOrWhiteSpace(s))
        {
            throw new BridgeInputException(field, $"missing ({names})");
        }

        var t = s.Trim().Replace("-", string.Empty, StringComparison.Ordinal);
        if (!System.Enum.TryParse<T>(t, ignoreCase: true, out var v) || !System.Enum.IsDefined(v) || char.IsDigit(t[0]))
        {
            throw new BridgeInputException(field, $"'{s}' is not one of {names}");
        }

        return v;
    }

    public static string NonEmpty(string? s, string field) =>
        string.IsNullOrWhiteSpace(s) ? throw new BridgeInputException(field, "missing") : s.Trim();

    public static double Range(double v, double min, double max, string field) =>
        !double.IsFinite(v) || v < min || v > max ? throw new BridgeInputException(field, $"{v} is outside [{min}, {max}]") : v;

    public static int Int(double v, double min, double max, string field)
    {
        Range(v, min, max, field);
        return v == Math.Floor(v) ? (int)v : throw new BridgeInputException(field, $"{v} is not a whole number");
    }

    /// <summary>ZeroCopy → zero-copy, the spelling the files use.</summary>
    public static string Kebab(string name) => string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
