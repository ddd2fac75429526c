namespace Veil.Broker.KeyWrapping;

/// <summary>
/// The key-wrapping backend could not do its job (PKCS#11 token absent or refusing, PIN rejected, key object
/// missing). Nothing is released: the release answers 503 <c>MasterKeyUnavailable</c>. The message names the
/// backend and the reason (a PKCS#11 return value such as <c>CKR_PIN_INCORRECT</c>), never a PIN or key.
/// </summary>
public sealed class KeyBackendUnavailableException : Exception
{
    public KeyBackendUnavailableException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public KeyBackendUnavailableException(string message)
        : base(message)
    {
    }

    public KeyBackendUnavailableException()
        : this("the master key's backend is unavailable")
    {
    }
}
