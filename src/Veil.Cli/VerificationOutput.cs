using System.Text.Encodings.Web;
using System.Text.Json;
using Veil.Attestation;

namespace Veil.Cli;

/// <summary>Prints a <see cref="VerificationResult"/> as JSON or text; shared by every <c>veil verify</c> verb.</summary>
internal static class VerificationOutput
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static int Write(VerificationResult result, string format, TextWriter output)
    {
        if (format == "json")
        {
            var doc = new Dictionary<string, object>
            {
                ["verified"] = result.Verified,
                ["tee"] = result.Tee,
                ["claims"] = new SortedDictionary<string, object>(result.Claims.ToDictionary(), StringComparer.Ordinal),
                ["failures"] = result.Failures.Select(f => new Dictionary<string, string?>
                {
                    ["check"] = f.Check,
                    ["expected"] = f.Expected,
                    ["actual"] = f.Actual,
                }).ToList(),
            };
            output.WriteLine(JsonSerializer.Serialize(doc, Json));
        }
        else
        {
            output.WriteLine(result.Verified ? $"{result.Tee}: VERIFIED" : $"{result.Tee}: NOT VERIFIED");
            foreach (var f in result.Failures)
            {
                output.WriteLine($"  failed {f}");
            }

            var width = result.Claims.Keys.DefaultIfEmpty("").Max(k => k.Length);
            foreach (var (name, value) in result.Claims.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                output.WriteLine($"  {name.PadRight(width)}  {Format(value)}");
            }
        }

        return result.Verified ? ExitCodes.Ok : ExitCodes.Failed;
    }

    private static string Format(object value) => value switch
    {
        bool b => b ? "true" : "false",
        IEnumerable<string> list => "[" + string.Join(", ", list) + "]",
        _ => value.ToString() ?? "",
    };
}
