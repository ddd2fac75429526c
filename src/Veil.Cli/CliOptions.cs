using System.CommandLine;
using System.Globalization;
using Veil.Attestation;

namespace Veil.Cli;

/// <summary>Options and value readers used by more than one verb.</summary>
internal static class CliOptions
{
    public static Option<string> Output(params string[] formats)
    {
        var o = new Option<string>("--output", "-o")
        {
            Description = "Output format: " + string.Join("|", formats),
            DefaultValueFactory = _ => formats[0],
        };
        o.AcceptOnlyFromAmong(formats);
        return o;
    }

    /// <summary>Reads <c>--at</c>: an ISO-8601 instant; without a zone it is taken as UTC.</summary>
    public static TimeProvider TimeAt(string? at)
    {
        if (string.IsNullOrWhiteSpace(at))
        {
            return TimeProvider.System;
        }

        if (!DateTimeOffset.TryParse(at, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t))
        {
            throw new CliUsageException($"--at: '{at}' is not an ISO-8601 time (e.g. 2026-03-01T00:00:00Z)");
        }

        return new FixedTimeProvider(t);
    }

    public static byte[] ReadFile(string path, string option)
    {
        if (!File.Exists(path))
        {
            throw new CliUsageException($"{option}: file not found: {path}");
        }

        return File.ReadAllBytes(path);
    }

    /// <summary>
    /// Reads <c>--report-data</c>: exactly 64 bytes of hex. The result stays a nullable memory on purpose: a
    /// null byte[] would convert to an empty (non-null) ReadOnlyMemory and be taken as an expectation.
    /// </summary>
    public static ReadOnlyMemory<byte>? ExpectedReportData(string? hex)
    {
        if (hex is null)
        {
            return null;
        }

        var bytes = Hex.Parse(hex, "--report-data");
        return bytes.Length == 64
            ? bytes
            : throw new CliUsageException($"--report-data: expected 64 bytes (128 hex digits), got {bytes.Length}");
    }
}
