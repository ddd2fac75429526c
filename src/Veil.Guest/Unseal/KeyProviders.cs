using Veil.Sealing;

namespace Veil.Guest;

/// <summary>Where the key-encryption key comes from: a local file now, the broker after attestation.</summary>
public interface IKeyProvider
{
    /// <param name="keyId">The broker resource path recorded in the sealed header (<c>repo/type/tag</c>).</param>
    Task<KeyEncryptionKey> GetKeyAsync(string keyId, CancellationToken cancellationToken);
}

/// <summary>A key file of exactly 32 raw bytes (operators, CI, tests); the key id is not checked against anything.</summary>
public sealed class KekFileKeyProvider(string path) : IKeyProvider
{
    public Task<KeyEncryptionKey> GetKeyAsync(string keyId, CancellationToken cancellationToken) =>
        Task.FromResult(KeyEncryptionKey.FromFile(path));
}
