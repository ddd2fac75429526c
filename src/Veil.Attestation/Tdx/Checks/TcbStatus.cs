using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;

namespace Veil.Attestation.Tdx.Checks;

/// <summary>
/// Intel's TCB statuses, in increasing severity (the order dcap-qvl and Intel's QVL use to combine the platform,
/// TDX module and QE statuses: the worst one wins). <see cref="Revoked"/> is always a failure.
/// </summary>
public enum TcbStatus
{
    UpToDate = 0,
    SWHardeningNeeded = 1,
    ConfigurationNeeded = 2,
    ConfigurationAndSWHardeningNeeded = 3,
    OutOfDate = 4,
    OutOfDateConfigurationNeeded = 5,
    Revoked = 6,
}

internal static class TcbStatuses
{
    // Exact names only: Enum.TryParse would also take " UpToDate", "4" or "UpToDate, OutOfDate" (flags syntax).
    private static readonly Dictionary<string, TcbStatus> Names = Enum.GetValues<TcbStatus>().ToDictionary(s => s.ToString(), StringComparer.Ordinal);

    public static TcbStatus Parse(string text, string field) =>
        Names.TryGetValue(text, out var s) ? s : throw new EvidenceFormatException(field, $"unknown TCB status '{text}'");

    private static readonly string[] Texts = [.. Enum.GetValues<TcbStatus>().Select(s => s.ToString())];

    /// <summary>The status's name, as Intel writes it (the enum's values are 0..6 in order).</summary>
    public static string Name(TcbStatus status) => (uint)status < (uint)Texts.Length ? Texts[(int)status] : status.ToString();

    public static TcbStatus Worst(TcbStatus a, TcbStatus b) => a >= b ? a : b;
}

/// <summary>One TCB level's verdict: its status, Intel's advisories for it, and the level's date.</summary>
public sealed record TcbVerdict(TcbStatus Status, IReadOnlyList<string> AdvisoryIds, DateTimeOffset TcbDate);
