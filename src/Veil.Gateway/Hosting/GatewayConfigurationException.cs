namespace Veil.Gateway.Hosting;

/// <summary>The gateway cannot start with these options; the message names the option and the reason.</summary>
public sealed class GatewayConfigurationException : Exception
{
    public GatewayConfigurationException(string message)
        : base(message)
    {
    }

    public GatewayConfigurationException()
        : this("invalid gateway configuration")
    {
    }

    public GatewayConfigurationException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
