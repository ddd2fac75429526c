namespace Veil.Protocol;

/// <summary>
/// A protocol message, key or token was malformed. <see cref="Field"/> names the offending field
/// (a JSON path such as <c>runtime-data.tee-pubkey.crv</c>); the message never carries secret values.
/// </summary>
public sealed class ProtocolFormatException : Exception
{
    public ProtocolFormatException(string field, string reason)
        : base($"{field}: {reason}")
    {
        Field = field;
        Reason = reason;
    }

    public ProtocolFormatException()
        : this("(message)", "malformed")
    {
    }

    public ProtocolFormatException(string message)
        : this("(message)", message)
    {
    }

    public ProtocolFormatException(string message, Exception inner)
        : base(message, inner)
    {
        Field = "(message)";
        Reason = message;
    }

    public string Field { get; } = "(message)";

    public string Reason { get; } = "malformed";
}
