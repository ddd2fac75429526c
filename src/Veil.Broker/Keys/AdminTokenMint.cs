using Veil.Broker.Admin;
using Veil.Broker.Secrets;

namespace Veil.Broker.Keys;

/// <summary>
/// <c>veil broker token mint</c>: a new admin token signed by the data directory's admin key, written to a file
/// created 0600 (a token is a credential: it is never printed).
/// </summary>
public static class AdminTokenMint
{
    /// <summary>Admin tokens are meant to be short-lived; a month is the most this command issues.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(31);

    /// <summary>Where <c>init</c> writes its token, and where a minted one goes unless told otherwise.</summary>
    public static string DefaultPath(string dataDir) => Path.Combine(dataDir, BrokerKeys.AdminTokenFile);

    public static DateTimeOffset Mint(string dataDir, string role, TimeSpan lifetime, string? audience, string outPath, TimeProvider time)
    {
        if (role != AdminTokens.Role)
        {
            throw new BrokerConfigurationException($"--role: '{role}' is not a role this broker knows (known: {AdminTokens.Role})");
        }

        if (lifetime <= TimeSpan.Zero || lifetime > MaxLifetime)
        {
            throw new BrokerConfigurationException($"--expires-in: between 1 minute and {MaxLifetime.TotalDays:0} days");
        }

        using var key = KeyFiles.ReadEcPrivateKey(Path.Combine(dataDir, BrokerKeys.AdminPrivateKeyFile));
        var now = time.GetUtcNow();
        var token = AdminTokens.Create(key, now, lifetime, role, audience);
        if (File.Exists(outPath))
        {
            File.Delete(outPath);
        }

        KeyFiles.WriteSecret(outPath, token + "\n");
        return now + lifetime;
    }
}
