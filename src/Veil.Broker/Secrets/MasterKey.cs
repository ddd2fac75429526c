using System.Security.Cryptography;
using System.Text;

namespace Veil.Broker.Secrets;

/// <summary>
/// The broker master key (AES-256) that encrypts resources at rest. Read from the environment variable
/// <see cref="EnvironmentVariable"/> (base64) or from <c>master.key</c> in the data directory, which must not be
/// readable by group or others.
/// </summary>
internal sealed class MasterKey : IDisposable
{
    public const string EnvironmentVariable = "VEIL_MASTER_KEY";
    public const string FileName = "master.key";
    private const int KeyBytes = 32;
    private const int NonceBytes = 12;
    private const int TagBytes = 16;
    private const byte FormatVersion = 1;

    private readonly SecretBytes _key;

    private MasterKey(byte[] key)
    {
        _key = new SecretBytes(key);
    }

    /// <param name="sharedStore">
    /// A PostgreSQL store shared by replicas: every replica must open what any other sealed, so a missing key is
    /// refused with the fix that gives them all the same one (never a key of this replica's own).
    /// </param>
    public static MasterKey Load(string dataDir, Func<string, string?> environment, bool sharedStore = false)
    {
        var env = environment(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env))
        {
            return new MasterKey(Decode(env.Trim(), EnvironmentVariable));
        }

        var path = Path.Combine(dataDir, FileName);
        if (!File.Exists(path) && sharedStore)
        {
            throw new BrokerConfigurationException(
                $"master key not found: {path}, and {EnvironmentVariable} is not set; with a PostgreSQL store every replica must use the same master key: " +
                $"set {EnvironmentVariable} to the base64 key from the master.key that 'veil broker init' wrote (in Kubernetes from a Secret; docs/replicas.md)");
        }

        if (!File.Exists(path))
        {
            throw new BrokerConfigurationException($"master key not found: {path} (run 'veil broker init --data-dir {dataDir}' or set {EnvironmentVariable})");
        }

        KeyFiles.RequireOwnerOnly(path);
        return new MasterKey(Decode(File.ReadAllText(path).Trim(), path));
    }

    public static string CreateEncoded() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeyBytes));

    /// <summary>Seals a resource value; <paramref name="name"/> is bound as associated data so values cannot be swapped between names.</summary>
    public byte[] Seal(ReadOnlySpan<byte> plaintext, string name)
    {
        var output = new byte[1 + NonceBytes + TagBytes + plaintext.Length];
        output[0] = FormatVersion;
        var nonce = output.AsSpan(1, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var gcm = new AesGcm(_key.Span, TagBytes);
        gcm.Encrypt(nonce, plaintext, output.AsSpan(1 + NonceBytes + TagBytes), output.AsSpan(1 + NonceBytes, TagBytes), Encoding.UTF8.GetBytes(name));
        return output;
    }

    public SecretBytes Open(ReadOnlySpan<byte> sealedValue, string name)
    {
        if (sealedValue.Length < 1 + NonceBytes + TagBytes || sealedValue[0] != FormatVersion)
        {
            throw new CryptographicException($"stored resource '{name}' is not in the sealed format");
        }

        var plaintext = new byte[sealedValue.Length - 1 - NonceBytes - TagBytes];
        using var gcm = new AesGcm(_key.Span, TagBytes);
        gcm.Decrypt(sealedValue.Slice(1, NonceBytes), sealedValue[(1 + NonceBytes + TagBytes)..], sealedValue.Slice(1 + NonceBytes, TagBytes), plaintext, Encoding.UTF8.GetBytes(name));
        return new SecretBytes(plaintext);
    }

    public void Dispose() => _key.Dispose();

    private static byte[] Decode(string text, string source)
    {
        byte[] key;
        try
        {
            key = Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw new BrokerConfigurationException($"{source}: master key is not base64");
        }

        if (key.Length != KeyBytes)
        {
            throw new BrokerConfigurationException($"{source}: master key must be {KeyBytes} bytes, got {key.Length}");
        }

        return key;
    }
}
