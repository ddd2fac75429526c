using Veil.Broker.Secrets;

namespace Veil.Broker.KeyWrapping;

/// <summary>
/// Where a master key lives, as <c>--master-key</c> names it: nothing or <c>file</c> (today's default:
/// <c>VEIL_MASTER_KEY</c>, else <c>DATA_DIR/master.key</c>), <c>file:PATH</c> (a key file of its own: 32 bytes,
/// base64, mode 0600) or an RFC 7512 <c>pkcs11:</c> URI (<see cref="Pkcs11KeyUri"/>).
/// </summary>
internal static class MasterKeySpec
{
    public const string EnvironmentVariable = "VEIL_MASTER_KEY";
    public const string FileName = "master.key";

    public static IKeyWrapper Open(string? spec, string field, string dataDir, Func<string, string?> environment, bool sharedStore)
    {
        var s = spec?.Trim();
        if (string.IsNullOrEmpty(s) || s == "file")
        {
            return new FileKeyWrapper(LoadDefault(dataDir, environment, sharedStore));
        }

        if (s.StartsWith("file:", StringComparison.Ordinal))
        {
            var path = s["file:".Length..];
            if (!File.Exists(path))
            {
                throw new BrokerConfigurationException($"{field}: key file not found: {path}");
            }

            KeyFiles.RequireOwnerOnly(path);
            return new FileKeyWrapper(Decode(File.ReadAllText(path).Trim(), $"{field}: {path}"));
        }

        if (s.StartsWith("pkcs11:", StringComparison.Ordinal))
        {
            return Pkcs11KeyWrapper.Open(Pkcs11KeyUri.Parse(s, field, environment), field, environment);
        }

        // The value is not echoed: someone may have pasted a key where a location belongs.
        throw new BrokerConfigurationException($"{field}: must be 'file', 'file:PATH' or an RFC 7512 'pkcs11:' URI");
    }

    private static byte[] LoadDefault(string dataDir, Func<string, string?> environment, bool sharedStore)
    {
        var env = environment(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env))
        {
            return Decode(env.Trim(), EnvironmentVariable);
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
        return Decode(File.ReadAllText(path).Trim(), path);
    }

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

        if (key.Length != FileKeyWrapper.KeyBytes)
        {
            throw new BrokerConfigurationException($"{source}: master key must be {FileKeyWrapper.KeyBytes} bytes, got {key.Length}");
        }

        return key;
    }
}
