using Veil.Policy.Model;

namespace Veil.Policy.ReferenceValues;

/// <summary>
/// One accepted value with where it came from (who or what produced it, e.g. the <c>veil measure</c>
/// command line and build id) and until when it may be used. An expired value never matches.
/// </summary>
public sealed record ReferenceValue(string Value, string Provenance, DateTimeOffset? Expires, SourceLocation? Source = null)
{
    public bool IsExpiredAt(DateTimeOffset now) => Expires is { } e && now >= e;
}

/// <summary>A named set of reference values, e.g. <c>llama-guest-images</c> for accepted launch measurements.</summary>
public sealed record ReferenceValueSet(string Name, IReadOnlyList<ReferenceValue> Values);

/// <summary>Where appraisal looks up named sets: files for offline use, the broker's store online.</summary>
public interface IReferenceValueStore
{
    /// <summary>The set of that name, or null when there is none.</summary>
    ReferenceValueSet? Find(string name);

    /// <summary>Every set name known to the store (used to reject policies naming unknown sets at load time).</summary>
    IReadOnlyCollection<string> Names { get; }
}

/// <summary>An in-memory store, filled from reference-value files or by the caller.</summary>
public sealed class ReferenceValueStore : IReferenceValueStore
{
    private readonly Dictionary<string, List<ReferenceValue>> _sets = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    public IReadOnlyCollection<string> Names
    {
        get
        {
            lock (_gate)
            {
                return _sets.Keys.ToArray();
            }
        }
    }

    public ReferenceValueSet? Find(string name)
    {
        lock (_gate)
        {
            return _sets.TryGetValue(name, out var values) ? new ReferenceValueSet(name, values.ToArray()) : null;
        }
    }

    /// <summary>Adds a value to a set (creating the set); the same value added again replaces the earlier entry.</summary>
    public void Add(string set, ReferenceValue value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(set);
        ArgumentNullException.ThrowIfNull(value);
        lock (_gate)
        {
            if (!_sets.TryGetValue(set, out var values))
            {
                values = [];
                _sets[set] = values;
            }

            values.RemoveAll(v => string.Equals(v.Value, value.Value, StringComparison.OrdinalIgnoreCase));
            values.Add(value);
        }
    }

    public void AddAll(IEnumerable<ReferenceValueSet> sets)
    {
        ArgumentNullException.ThrowIfNull(sets);
        foreach (var s in sets)
        {
            lock (_gate)
            {
                if (!_sets.ContainsKey(s.Name))
                {
                    _sets[s.Name] = [];
                }
            }

            foreach (var v in s.Values)
            {
                Add(s.Name, v);
            }
        }
    }
}
