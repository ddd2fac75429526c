using System.Security.Cryptography;

namespace Veil.Broker.Secrets;

/// <summary>
/// Secret material (resource values, keys). It refuses to show itself: <see cref="ToString"/> is redacted, so a
/// secret that slips into a log line or an exception message prints as <c>[redacted]</c>.
/// </summary>
internal sealed class SecretBytes : IDisposable
{
    private readonly byte[] _value;

    public SecretBytes(byte[] value)
    {
        _value = value;
    }

    public int Length => _value.Length;

    public ReadOnlySpan<byte> Span => _value;

    public byte[] ToArray() => (byte[])_value.Clone();

    public override string ToString() => "[redacted]";

    public void Dispose() => CryptographicOperations.ZeroMemory(_value);
}
