namespace Veil.Broker.Storage;

/// <summary>
/// A broker never runs on a schema newer than its own migrations: a newer broker may have changed what rows mean,
/// and an older one writing into them could undo that silently (e.g. during a rolling downgrade).
/// </summary>
internal static class SchemaCheck
{
    public static void RefuseNewer(string store, int found, int known)
    {
        if (found > known)
        {
            throw new BrokerConfigurationException(
                $"{store} has schema version {found}, newer than this broker knows ({known}): a newer Veil broker migrated it; run that version (or newer), not this one");
        }
    }
}
