namespace Veil.Guest;

/// <summary>
/// Evidence could not be collected or was refused before it left the guest. Names the source (configfs-tsm,
/// sev-guest, nvml), the field or call, and the reason; never key material.
/// </summary>
public sealed class AttesterException : Exception
{
    public AttesterException(string source, string reason)
        : base($"{source}: {reason}")
    {
        Attester = source;
        Reason = reason;
    }

    public AttesterException(string source, string reason, Exception inner)
        : base($"{source}: {reason}", inner)
    {
        Attester = source;
        Reason = reason;
    }

    public AttesterException()
        : this("attester", "failed")
    {
    }

    public AttesterException(string message)
        : this("attester", message)
    {
    }

    public AttesterException(string message, Exception inner)
        : this("attester", message, inner)
    {
    }

    /// <summary>Which attester or library failed.</summary>
    public string Attester { get; }

    public string Reason { get; }
}
