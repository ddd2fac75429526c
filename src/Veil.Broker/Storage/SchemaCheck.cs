namespace Veil.Broker.Storage;

/// <summary>
/// Which migration steps a store still needs. Steps run by what is applied, not above the highest applied version:
/// versions are handed out to work in progress, so a step can ship after a higher one (4 after 5), and a store at 5
/// must still get 4. A broker never runs on a schema holding a step it does not know: a newer broker may have changed
/// what rows mean, and an older one writing into them could undo that silently (e.g. during a rolling downgrade).
/// </summary>
internal static class SchemaCheck
{
    public static IReadOnlyList<int> Pending(string store, IReadOnlyCollection<int> applied, IEnumerable<int> known)
    {
        var steps = known.Order().ToList();
        var unknown = applied.Where(v => !steps.Contains(v)).Order().ToList();
        if (unknown.Count > 0)
        {
            var what = unknown[0] > steps[^1]
                ? $"schema version {unknown[^1]}, newer than this broker knows ({steps[^1]})"
                : $"schema version {string.Join(", ", unknown)}, which this broker does not know (it knows {string.Join(", ", steps)})";
            throw new BrokerConfigurationException($"{store} has {what}: a newer Veil broker migrated it; run that version (or newer), not this one");
        }

        return steps.Where(v => !applied.Contains(v)).ToList();
    }
}
