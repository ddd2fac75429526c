namespace Veil.Bridge;

/// <summary>Bad input to the bridge model (a profile, workload, trace or option): names the field and the reason.</summary>
internal sealed class BridgeInputException : Exception
{
    public BridgeInputException(string field, string reason)
        : base($"{field}: {reason}")
    {
        Field = field;
        Reason = reason;
    }

    public BridgeInputException()
        : this("input", "invalid")
    {
    }

    public BridgeInputException(string message)
        : this("input", message)
    {
    }

    public BridgeInputException(string message, Exception inner)
        : base(message, inner)
    {
        Field = "input";
        Reason = message;
    }

    public string Field { get; } = "input";

    public string Reason { get; } = "invalid";
}
