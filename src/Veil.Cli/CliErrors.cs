using System.CommandLine;
using System.Security.Cryptography;
using Veil.Attestation;

namespace Veil.Cli;

/// <summary>A usage problem found after parsing (conflicting options, a value out of range).</summary>
internal sealed class CliUsageException : Exception
{
    public CliUsageException(string message)
        : base(message)
    {
    }

    public CliUsageException()
        : this("bad usage")
    {
    }

    public CliUsageException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>Turns typed errors into one line on stderr and an exit code; never a stack trace.</summary>
internal static class CliErrors
{
    public static int Guard(ParseResult parse, Func<int> action)
    {
        try
        {
            return action();
        }
#pragma warning disable CA1031 // The CLI's last line of defence: report, don't crash with a trace.
        catch (Exception e)
#pragma warning restore CA1031
        {
            return Report(e, parse.InvocationConfiguration.Error);
        }
    }

    public static async Task<int> GuardAsync(ParseResult parse, Func<Task<int>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
#pragma warning disable CA1031
        catch (Exception e)
#pragma warning restore CA1031
        {
            return Report(e, parse.InvocationConfiguration.Error);
        }
    }

    /// <summary>One line naming what was wrong. Messages of our own exceptions never carry secrets.</summary>
    public static int Report(Exception e, TextWriter err)
    {
        switch (e)
        {
            case CliUsageException:
                err.WriteLine($"veil: {e.Message}");
                return ExitCodes.Usage;
            case EvidenceFormatException:
                err.WriteLine($"veil: invalid input: {e.Message}");
                return ExitCodes.Usage;
            case IOException or UnauthorizedAccessException:
                err.WriteLine($"veil: cannot read input: {e.Message}");
                return ExitCodes.Usage;
            case CryptographicException:
                err.WriteLine($"veil: invalid certificate or key: {e.Message}");
                return ExitCodes.Usage;
            case HttpRequestException:
                err.WriteLine($"veil: network error: {e.Message}");
                return ExitCodes.Usage;
            case OperationCanceledException:
                err.WriteLine("veil: cancelled");
                return ExitCodes.Failed;
            default:
                err.WriteLine($"veil: internal error ({e.GetType().Name}): {e.Message}");
                return ExitCodes.Internal;
        }
    }
}
