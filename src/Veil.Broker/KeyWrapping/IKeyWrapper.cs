using Veil.Broker.Secrets;

namespace Veil.Broker.KeyWrapping;

/// <summary>
/// Whatever holds the master key: it wraps and unwraps data keys and never hands the master key out. The file key,
/// a PKCS#11 token, and (behind this same shape) a cloud KMS, whose Encrypt/Decrypt with an encryption context is
/// exactly these two calls. Failures of the backend itself (token gone, wrong PIN, KMS unreachable) throw
/// <see cref="KeyBackendUnavailableException"/>; a wrapped key that does not authenticate throws
/// <see cref="System.Security.Cryptography.CryptographicException"/>.
/// </summary>
internal interface IKeyWrapper : IDisposable
{
    /// <summary>
    /// Stable name of the master key, stored with every data key it wraps (so a row says which key opens it, and a
    /// rotation knows which rows are done). Not secret; at most 255 bytes of UTF-8.
    /// </summary>
    string KeyId { get; }

    /// <summary>Wraps a data key; <paramref name="context"/> (the resource name) is authenticated with it.</summary>
    ValueTask<byte[]> WrapAsync(ReadOnlyMemory<byte> dataKey, ReadOnlyMemory<byte> context, CancellationToken ct);

    ValueTask<SecretBytes> UnwrapAsync(ReadOnlyMemory<byte> wrappedKey, ReadOnlyMemory<byte> context, CancellationToken ct);
}
