using System.Security.Cryptography;
using System.Text;
using Veil.Broker.Secrets;

namespace Veil.Broker.KeyWrapping;

/// <summary>
/// The master key as 32 bytes in process memory, from <c>master.key</c>, another key file or
/// <c>VEIL_MASTER_KEY</c>: wraps data keys with AES-256-GCM (the resource name as associated data). Also opens the
/// stored format 1, where values were sealed under this key directly.
/// </summary>
internal sealed class FileKeyWrapper : IKeyWrapper
{
    public const int KeyBytes = 32;
    private const int NonceBytes = 12;
    private const int TagBytes = 16;
    private readonly SecretBytes _key;

    public FileKeyWrapper(byte[] key)
    {
        if (key.Length != KeyBytes)
        {
            throw new ArgumentException($"a master key has {KeyBytes} bytes", nameof(key));
        }

        _key = new SecretBytes(key);
        // A one-way tag of the key, so that rows name it without revealing it and two files with the same key agree.
        var tag = SHA256.HashData([.. Encoding.ASCII.GetBytes("veil master key id\0"), .. key]);
        KeyId = "file:" + Convert.ToHexStringLower(tag.AsSpan(0, 8));
    }

    public string KeyId { get; }

    public ValueTask<byte[]> WrapAsync(ReadOnlyMemory<byte> dataKey, ReadOnlyMemory<byte> context, CancellationToken ct)
    {
        var output = new byte[NonceBytes + TagBytes + dataKey.Length];
        var nonce = output.AsSpan(0, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var gcm = new AesGcm(_key.Span, TagBytes);
        gcm.Encrypt(nonce, dataKey.Span, output.AsSpan(NonceBytes + TagBytes), output.AsSpan(NonceBytes, TagBytes), context.Span);
        return ValueTask.FromResult(output);
    }

    public ValueTask<SecretBytes> UnwrapAsync(ReadOnlyMemory<byte> wrappedKey, ReadOnlyMemory<byte> context, CancellationToken ct)
    {
        var w = wrappedKey.Span;
        if (w.Length <= NonceBytes + TagBytes)
        {
            throw new CryptographicException("wrapped data key is too short");
        }

        var plain = new byte[w.Length - NonceBytes - TagBytes];
        using var gcm = new AesGcm(_key.Span, TagBytes);
        gcm.Decrypt(w[..NonceBytes], w[(NonceBytes + TagBytes)..], w.Slice(NonceBytes, TagBytes), plain, context.Span);
        return ValueTask.FromResult(new SecretBytes(plain));
    }

    /// <summary>Opens format 1 (value sealed under the master key itself): nonce, tag, ciphertext after the version byte.</summary>
    public SecretBytes OpenFormat1(ReadOnlySpan<byte> body, ReadOnlySpan<byte> name)
    {
        if (body.Length < NonceBytes + TagBytes)
        {
            throw new CryptographicException("stored value is too short for format 1");
        }

        var plaintext = new byte[body.Length - NonceBytes - TagBytes];
        using var gcm = new AesGcm(_key.Span, TagBytes);
        gcm.Decrypt(body[..NonceBytes], body[(NonceBytes + TagBytes)..], body.Slice(NonceBytes, TagBytes), plaintext, name);
        return new SecretBytes(plaintext);
    }

    public void Dispose() => _key.Dispose();
}
