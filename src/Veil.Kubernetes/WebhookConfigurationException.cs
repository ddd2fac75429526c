namespace Veil.Kubernetes;

/// <summary>A webhook settings file or flag is wrong; the message names the setting and the reason.</summary>
public sealed class WebhookConfigurationException : Exception
{
    public WebhookConfigurationException(string message)
        : base(message)
    {
    }

    public WebhookConfigurationException()
        : this("invalid webhook configuration")
    {
    }

    public WebhookConfigurationException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
