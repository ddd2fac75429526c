using System.Text.Encodings.Web;
using System.Text.Json;
using Veil.Attestation;

namespace Veil.Cli;

/// <summary>
/// Prints a <see cref="VerificationResult"/> as JSON or text; shared by every <c>veil verify</c> verb. What a failed
/// verification's evidence states is never printed like verified claims: in text each such line is marked
/// <c>unverified</c>, in JSON it sits under <c>unverified_claims</c> beside the failures (there is no <c>claims</c>),
/// so a reader that looks for claims finds none.
/// </summary>
internal static class VerificationOutput
{
    /// <summary>Lists longer than this (as one line) are printed one item per line under a count.</summary>
    internal const int InlineListLimit = 100;

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <param name="hint">What the user can give to fix a failure (e.g. the options that supply missing collateral), or null.</param>
    public static int Write(VerificationResult result, string format, TextWriter output, Func<VerificationFailure, string?>? hint = null)
    {
        hint ??= _ => null;
        var claims = new SortedDictionary<string, object>(result.Claims.ToDictionary(), StringComparer.Ordinal);
        if (format == "json")
        {
            var doc = new Dictionary<string, object>
            {
                ["verified"] = result.Verified,
                ["tee"] = result.Tee,
            };
            doc[result.Verified ? "claims" : "unverified_claims"] = claims;
            doc["failures"] = result.Failures.Select(f =>
            {
                var entry = new Dictionary<string, string?> { ["check"] = f.Check, ["expected"] = f.Expected, ["actual"] = f.Actual };
                if (hint(f) is { } h)
                {
                    entry["hint"] = h;
                }

                return entry;
            }).ToList();
            output.WriteLine(JsonSerializer.Serialize(doc, Json));
        }
        else
        {
            output.WriteLine(result.Verified ? $"{result.Tee}: VERIFIED" : $"{result.Tee}: NOT VERIFIED");
            foreach (var f in result.Failures)
            {
                output.WriteLine($"  failed {f}");
                if (hint(f) is { } h)
                {
                    output.WriteLine($"    to supply it: {h}");
                }
            }

            if (!result.Verified && claims.Count > 0)
            {
                output.WriteLine("  the evidence states the following, UNVERIFIED (do not rely on it):");
            }

            var mark = result.Verified ? "" : "unverified ";
            var width = claims.Keys.DefaultIfEmpty("").Max(k => k.Length);
            foreach (var (name, value) in claims)
            {
                WriteClaim(output, $"  {mark}{name.PadRight(width)}  ", value);
            }
        }

        return result.Verified ? ExitCodes.Ok : ExitCodes.Failed;
    }

    /// <summary>
    /// One line per claim; a long list (an event log's events, many advisory ids) as its count, then one item per
    /// line indented beneath, so no claim becomes a line of kilobytes.
    /// </summary>
    private static void WriteClaim(TextWriter output, string prefix, object value)
    {
        if (value is not string && value is IEnumerable<string> list)
        {
            var items = list.ToList();
            var inline = "[" + string.Join(", ", items) + "]";
            if (inline.Length <= InlineListLimit)
            {
                output.WriteLine(prefix + inline);
                return;
            }

            output.WriteLine($"{prefix}{items.Count} items:");
            foreach (var item in items)
            {
                output.WriteLine("      " + item);
            }

            return;
        }

        output.WriteLine(prefix + (value is bool b ? (b ? "true" : "false") : value.ToString() ?? ""));
    }
}
