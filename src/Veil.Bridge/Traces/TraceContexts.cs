namespace Veil.Bridge.Traces;

/// <summary>
/// The model is one GPU context: a trace of several (tensor parallelism, several processes) must name the one to
/// predict. Keeps the rows of the chosen context and, when none was chosen, refuses a trace that has more than one.
/// </summary>
internal sealed class TraceContexts(string? chosen)
{
    private const int MaxListed = 8;
    private readonly HashSet<string> seen = new(StringComparer.Ordinal);
    private bool matched;

    /// <summary>True when a row of context <paramref name="key"/> (null: the trace does not say) is part of the prediction.</summary>
    public bool Keep(string? key)
    {
        if (key is null)
        {
            return true;
        }

        if (seen.Count < 1024)
        {
            seen.Add(key);
        }

        if (chosen is null)
        {
            return true;
        }

        var keep = string.Equals(key, chosen, StringComparison.Ordinal);
        matched |= keep;
        return keep;
    }

    public void Check()
    {
        if (chosen is not null && !matched)
        {
            throw new BridgeInputException("--context", $"no row of context '{chosen}' (the trace has: {List()})");
        }

        if (chosen is null && seen.Count > 1)
        {
            throw new BridgeInputException("--context", $"the trace has {seen.Count} GPU contexts ({List()}); the model is one context: choose one with --context");
        }
    }

    private string List() => string.Join(", ", seen.Order(StringComparer.Ordinal).Take(MaxListed)) + (seen.Count > MaxListed ? ", ..." : string.Empty);
}
