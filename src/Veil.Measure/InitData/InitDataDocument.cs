using System.Text;
using Tomlyn.Model;

namespace Veil.Measure.InitData;

/// <summary>
/// The <c>[data]</c> table of a Confidential Containers init-data document: file name → file text
/// (<c>"aa.toml"</c>, <c>"cdh.toml"</c>, <c>"policy.rego"</c>, or an operator's own keys such as
/// <c>image_digest</c>). After the document's digest has been matched against SNP HOST_DATA or TDX MRCONFIGID,
/// these become the <c>init_data.*</c> claims.
/// </summary>
/// <remarks>
/// The whole document is parsed as TOML (Tomlyn, <see cref="InitDataToml"/>), as Kata's own reader does; every value
/// under <c>data</c> must be a string (Kata reads it as a map of strings). The digest never depends on this parser:
/// it is over the raw bytes.
/// </remarks>
public static class InitDataDocument
{
    public static IReadOnlyDictionary<string, string> ParseData(byte[] toml)
    {
        ArgumentNullException.ThrowIfNull(toml);
        var document = InitDataToml.Read(Encoding.UTF8.GetString(toml));
        var data = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!document.Model.TryGetValue("data", out var table))
        {
            return data;
        }

        if (table is not TomlTable entries)
        {
            throw new MeasureException($"initdata:{document.LineOf("", "data") ?? 1}", "'data' must be a table of strings ([data])");
        }

        foreach (var (key, value) in entries)
        {
            data[key] = value as string
                ?? throw new MeasureException($"initdata:{document.LineOf("data", key)?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "data"}", $"value of '{key}' in [data] must be a string");
        }

        return data;
    }
}
