using System.Security.Cryptography;
using Veil.Broker.Admin;
using Veil.Broker.Secrets;

namespace Veil.Broker.Keys;

/// <summary>What <c>veil broker init</c> created.</summary>
public sealed record BrokerInitResult(string DataDir, string AdminTokenPath, IReadOnlyList<string> Files);

/// <summary>
/// Creates a data directory: master key, token-signing key, admin key pair and an admin token.
/// Refuses to overwrite an existing one (losing the master key would make every stored resource unreadable).
/// </summary>
public static class BrokerInit
{
    private static readonly string[] KeyFileNames = [MasterKey.FileName, BrokerKeys.TokenSigningKeyFile, BrokerKeys.AdminPublicKeyFile, BrokerKeys.AdminPrivateKeyFile];

    /// <summary>Every key file is there (a partial set is neither initialised nor safe to initialise over).</summary>
    public static bool IsInitialised(string dataDir) => KeyFileNames.All(f => File.Exists(Path.Combine(dataDir, f)));

    public static BrokerInitResult Run(string dataDir, TimeSpan adminTokenLifetime, TimeProvider time)
    {
        // Created 0700 from the start (the broker refuses a data directory open to group or others); an existing
        // empty one is tightened below.
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(dataDir);
        }
        else
        {
            Directory.CreateDirectory(dataDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var existing = KeyFileNames.Where(f => File.Exists(Path.Combine(dataDir, f))).ToList();
        if (existing.Count > 0)
        {
            throw new BrokerConfigurationException($"{dataDir} is already initialised ({string.Join(", ", existing)} exist); refusing to overwrite keys");
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(dataDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        KeyFiles.WriteSecret(Path.Combine(dataDir, MasterKey.FileName), MasterKey.CreateEncoded() + "\n");
        using (var signing = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            KeyFiles.WriteSecret(Path.Combine(dataDir, BrokerKeys.TokenSigningKeyFile), signing.ExportPkcs8PrivateKeyPem() + "\n");
        }

        using var admin = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        KeyFiles.WriteSecret(Path.Combine(dataDir, BrokerKeys.AdminPrivateKeyFile), admin.ExportPkcs8PrivateKeyPem() + "\n");
        KeyFiles.WritePublic(Path.Combine(dataDir, BrokerKeys.AdminPublicKeyFile), admin.ExportSubjectPublicKeyInfoPem() + "\n");
        var tokenPath = Path.Combine(dataDir, BrokerKeys.AdminTokenFile);
        if (File.Exists(tokenPath))
        {
            File.Delete(tokenPath);
        }

        KeyFiles.WriteSecret(tokenPath, AdminTokens.Create(admin, time.GetUtcNow(), adminTokenLifetime) + "\n");
        return new BrokerInitResult(dataDir, tokenPath,
            [MasterKey.FileName, BrokerKeys.TokenSigningKeyFile, BrokerKeys.AdminPrivateKeyFile, BrokerKeys.AdminPublicKeyFile, BrokerKeys.AdminTokenFile]);
    }
}
