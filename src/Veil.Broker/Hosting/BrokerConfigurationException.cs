namespace Veil.Broker;

/// <summary>The broker cannot start or the data directory is not usable; the message says what to fix.</summary>
public sealed class BrokerConfigurationException : Exception
{
    public BrokerConfigurationException(string message)
        : base(message)
    {
    }

    public BrokerConfigurationException()
        : this("invalid broker configuration")
    {
    }

    public BrokerConfigurationException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
