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

    /// <summary>
    /// The token carries <paramref name="role"/> itself: local-key tokens are the operator's statements (whoever holds the
    /// admin key could sign any role), so the broker takes their role as signed (docs/admin-identities.md).
    /// </summary>
    public static DateTimeOffset Mint(string dataDir, string role, TimeSpan lifetime, string? audience, string outPath, TimeProvider time, string subject = AdminTokens.DefaultSubject)
    {
        if (AdminRole.Parse(role) is null)
        {
            throw new BrokerConfigurationException($"--role: '{role}' is not a role this broker knows (known: {AdminRole.Known})");
        }

        if (AdminAuthenticator.SubjectError(subject) is not null)
        {
            throw new BrokerConfigurationException($"--subject: must be 1 to {RoleBindings.MaxSubject} characters without control characters");
        }

        if (lifetime <= TimeSpan.Zero || lifetime > MaxLifetime)
        {
            throw new BrokerConfigurationException($"--expires-in: between 1 minute and {MaxLifetime.TotalDays:0} days");
        }

        using var key = KeyFiles.ReadEcPrivateKey(Path.Combine(dataDir, BrokerKeys.AdminPrivateKeyFile));
        var now = time.GetUtcNow();
        var token = AdminTokens.Create(key, now, lifetime, role, audience, subject);
        if (File.Exists(outPath))
        {
            File.Delete(outPath);
        }

        KeyFiles.WriteSecret(outPath, token + "\n");
        return now + lifetime;
    }
}
