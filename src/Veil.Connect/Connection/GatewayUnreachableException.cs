namespace Veil.Connect.Connection;

/// <summary>No TLS connection to the gateway could be made (refused, timed out, handshake failed): nothing was sent.</summary>
public sealed class GatewayUnreachableException : Exception
{
    public GatewayUnreachableException(string message)
        : base(message)
    {
    }

    public GatewayUnreachableException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public GatewayUnreachableException()
        : this("gateway unreachable")
    {
    }
}
