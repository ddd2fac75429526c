namespace Veil.Attestation;

/// <summary>
/// Evidence or collateral bytes that cannot be parsed. Always names the field and the reason so that
/// an operator can tell which input was wrong without a stack trace.
/// </summary>
public sealed class EvidenceFormatException : Exception
{
    public EvidenceFormatException(string field, string reason)
        : base($"{field}: {reason}")
    {
        Field = field;
        Reason = reason;
    }

    public EvidenceFormatException(string field, string reason, Exception inner)
        : base($"{field}: {reason}", inner)
    {
        Field = field;
        Reason = reason;
    }

    public EvidenceFormatException()
        : this("evidence", "unreadable")
    {
    }

    public EvidenceFormatException(string message)
        : this("evidence", message)
    {
    }

    public EvidenceFormatException(string message, Exception inner)
        : this("evidence", message, inner)
    {
    }

    /// <summary>The field (or input) that was wrong, e.g. <c>report.version</c>.</summary>
    public string Field { get; }

    /// <summary>Why it was rejected.</summary>
    public string Reason { get; }
}
