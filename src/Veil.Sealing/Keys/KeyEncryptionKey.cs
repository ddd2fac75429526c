using System.Security.Cryptography;

namespace Veil.Sealing;

/// <summary>
/// The 32-byte AES-256 key-encryption key that wraps each file's data key. The broker holds it as a resource;
/// locally it can come from a file of exactly 32 raw bytes. Never printed: <see cref="ToString"/> is redacted.
/// </summary>
public sealed class KeyEncryptionKey : IDisposable
{
    public const int Size = 32;

    private readonly byte[] key;
    private bool disposed;

    public KeyEncryptionKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != Size)
        {
            throw new SealingException(SealingError.InvalidKeyFile, $"key-encryption key: must be {Size} bytes, got {key.Length}");
        }

        this.key = key.ToArray();
    }

    /// <summary>A fresh random key (for `veil seal` when the broker creates the resource, and for tests).</summary>
    public static KeyEncryptionKey Generate()
    {
        Span<byte> k = stackalloc byte[Size];
        RandomNumberGenerator.Fill(k);
        try
        {
            return new KeyEncryptionKey(k);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(k);
        }
    }

    /// <summary>Reads a key file of exactly 32 raw bytes; anything else is refused, naming the file but not its bytes.</summary>
    public static KeyEncryptionKey FromFile(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new SealingException(SealingError.InvalidKeyFile, $"key file '{path}': not found");
        }

        if (info.Length != Size)
        {
            throw new SealingException(SealingError.InvalidKeyFile, $"key file '{path}': must hold exactly {Size} raw bytes, has {info.Length}");
        }

        var bytes = File.ReadAllBytes(path);
        try
        {
            return new KeyEncryptionKey(bytes);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>Writes the raw key to a new file readable only by its owner.</summary>
    public void WriteToFile(string path)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var f = new FileStream(path, options);
        f.Write(key);
    }

    /// <summary>Copies the raw key out, for handing it to the broker as a resource; callers zero their copy.</summary>
    public void CopyTo(Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        key.CopyTo(destination);
    }

    internal ReadOnlySpan<byte> Bytes
    {
        get
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            return key;
        }
    }

    public override string ToString() => "KeyEncryptionKey(redacted)";

    public void Dispose()
    {
        if (!disposed)
        {
            CryptographicOperations.ZeroMemory(key);
            disposed = true;
        }
    }
}
