using System.Security.Cryptography;

namespace Veil.Sealing;

/// <summary>
/// Envelope encryption: each file gets a random data key, wrapped with AES-256-GCM under the key-encryption key.
/// The header bytes before the wrapped key are the associated data, so the wrapped key is bound to its header
/// (key id, sizes, file nonce). AES-GCM rather than RFC 3394 key wrap because that binding needs associated data.
/// </summary>
internal static class DataKeyWrap
{
    public static byte[] Wrap(KeyEncryptionKey kek, ReadOnlySpan<byte> headerPrefix, ReadOnlySpan<byte> dataKey)
    {
        var wrapped = new byte[SealedHeader.WrappedKeyLength];
        var nonce = wrapped.AsSpan(0, SealedHeader.WrapNonceLength);
        RandomNumberGenerator.Fill(nonce);
        using var gcm = new AesGcm(kek.Bytes, SealedHeader.TagLength);
        gcm.Encrypt(
            nonce,
            dataKey,
            wrapped.AsSpan(SealedHeader.WrapNonceLength, SealedHeader.DataKeyLength),
            wrapped.AsSpan(SealedHeader.WrapNonceLength + SealedHeader.DataKeyLength),
            headerPrefix);
        return wrapped;
    }

    /// <summary>Unwraps into <paramref name="dataKey"/>; a wrong key or an edited header is the same failure, by design of AEAD.</summary>
    public static void Unwrap(KeyEncryptionKey kek, SealedHeader header, Span<byte> dataKey, string name)
    {
        var w = header.WrappedDataKey;
        using var gcm = new AesGcm(kek.Bytes, SealedHeader.TagLength);
        try
        {
            gcm.Decrypt(
                w.AsSpan(0, SealedHeader.WrapNonceLength),
                w.AsSpan(SealedHeader.WrapNonceLength, SealedHeader.DataKeyLength),
                w.AsSpan(SealedHeader.WrapNonceLength + SealedHeader.DataKeyLength),
                dataKey,
                header.PrefixBytes());
        }
        catch (AuthenticationTagMismatchException e)
        {
            CryptographicOperations.ZeroMemory(dataKey);
            throw new SealingException(
                SealingError.KeyUnwrapFailed,
                $"{name}: header.wrapped_data_key: did not unwrap (wrong key-encryption key for '{header.KeyId}', or the header was modified)",
                e);
        }
    }
}
