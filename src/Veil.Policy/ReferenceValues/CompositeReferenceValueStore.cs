namespace Veil.Policy.ReferenceValues;

/// <summary>Looks a set up in several stores; values of a set found in more than one store are combined.</summary>
public sealed class CompositeReferenceValueStore(params IReferenceValueStore[] stores) : IReferenceValueStore
{
    public IReadOnlyCollection<string> Names => stores.SelectMany(s => s.Names).Distinct(StringComparer.Ordinal).ToArray();

    public ReferenceValueSet? Find(string name)
    {
        var found = stores.Select(s => s.Find(name)).OfType<ReferenceValueSet>().ToList();
        return found.Count == 0 ? null : new ReferenceValueSet(name, found.SelectMany(s => s.Values).ToList());
    }
}
