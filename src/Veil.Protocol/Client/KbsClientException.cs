namespace Veil.Protocol.Client;

/// <summary>The broker refused a request; carries the HTTP status and the RFC 7807 kind and detail it sent.</summary>
public sealed class KbsClientException : Exception
{
    public KbsClientException(int status, string kind, string detail)
        : base($"broker answered {status} {kind}: {detail}")
    {
        Status = status;
        Kind = kind;
        Detail = detail;
    }

    public KbsClientException()
        : this(0, "Unknown", "no detail")
    {
    }

    public KbsClientException(string message)
        : this(0, "Unknown", message)
    {
    }

    public KbsClientException(string message, Exception inner)
        : base(message, inner)
    {
        Kind = "Unknown";
        Detail = message;
    }

    public int Status { get; }

    public string Kind { get; } = "Unknown";

    public string Detail { get; } = "";
}
