using System.Security.Cryptography;

namespace Veil.Broker.Secrets;

/// <summary>Writes and reads key files with owner-only permissions; a key file others can read is refused.</summary>
internal static class KeyFiles
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static void WriteSecret(string path, string content)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnly; // created 0600: never briefly world-readable
        }

        using (var stream = new FileStream(path, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
        }
    }

    public static void WritePublic(string path, string content) => File.WriteAllText(path, content);

    public static void RequireOwnerOnly(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var mode = File.GetUnixFileMode(path);
        if ((mode & ~(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute)) != 0)
        {
            throw new BrokerConfigurationException($"{path}: permissions are too open (must be readable by the owner only; chmod 600)");
        }
    }

    public static ECDsa ReadEcPrivateKey(string path)
    {
        if (!File.Exists(path))
        {
            throw new BrokerConfigurationException($"key file not found: {path} (run 'veil broker init')");
        }

        RequireOwnerOnly(path);
        return ParseEcPrivateKey(File.ReadAllText(path), path);
    }

    /// <summary>A PEM EC private key; <paramref name="where"/> names its source in the error (never the key).</summary>
    public static ECDsa ParseEcPrivateKey(string pem, string where)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new BrokerConfigurationException($"{where}: not a PEM EC private key");
        }

        return key;
    }

    /// <summary>An Ed25519 admin key (PEM "PUBLIC KEY"), or null when the file holds another kind of key.</summary>
    public static Admin.Ed25519PublicKey? ReadAdminPublicKey(string path)
    {
        if (!File.Exists(path))
        {
            throw new BrokerConfigurationException($"--admin-public-key: file not found: {path}");
        }

        try
        {
            var text = File.ReadAllText(path);
            var pem = PemEncoding.Find(text);
            return Admin.Ed25519PublicKey.FromSubjectPublicKeyInfo(Convert.FromBase64String(text[pem.Base64Data]));
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            throw new BrokerConfigurationException($"{path}: not a PEM public key (Ed25519 or EC P-256)");
        }
    }

    public static ECDsa ReadEcPublicKey(string path)
    {
        if (!File.Exists(path))
        {
            throw new BrokerConfigurationException($"key file not found: {path} (run 'veil broker init')");
        }

        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(File.ReadAllText(path));
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new BrokerConfigurationException($"{path}: not a PEM EC public key");
        }

        return key;
    }
}
