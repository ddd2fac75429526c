using System.Globalization;
using Veil.Broker.Storage;

namespace Veil.Broker.Audit;

/// <summary>
/// Unauthenticated refusals (no or a bad admin token, no attestation token, evidence that does not verify) cost an
/// attacker nothing, so they are not recorded one row each without end: in each window the first
/// <c>budget</c> are recorded as they come; past that they are counted by (actor, action), both from closed sets,
/// and the window's counts become one summary row each when the window ends. Memory: one counter per distinct
/// (actor, action) pair, a set the broker defines.
/// </summary>
internal sealed class RefusalAggregator(int budget, TimeSpan window)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Actor, string Action), Pending> _counted = [];
    private DateTimeOffset _windowStart = DateTimeOffset.MinValue;
    private int _recorded;

    public TimeSpan Window => window;

    /// <summary>
    /// True when <paramref name="entry"/> is to be recorded on its own; false when it was counted instead.
    /// <paramref name="summaries"/> receives the rows of a window that has just ended.
    /// </summary>
    public bool Admit(AuditEntry entry, List<AuditEntry> summaries)
    {
        lock (_gate)
        {
            Roll(entry.At, summaries);
            if (_recorded < budget)
            {
                _recorded++;
                return true;
            }

            var key = (entry.Actor, entry.Action);
            if (!_counted.TryGetValue(key, out var p))
            {
                p = new Pending(entry.At, AuditBounds.Cut(entry.Reason, 200));
                _counted[key] = p;
            }

            p.Count++;
            p.Last = entry.At;
            return false;
        }
    }

    /// <summary>The summaries of the current window if it has ended by <paramref name="now"/> (or always, when <paramref name="force"/>).</summary>
    public List<AuditEntry> Flush(DateTimeOffset now, bool force = false)
    {
        var summaries = new List<AuditEntry>();
        lock (_gate)
        {
            if (force)
            {
                Drain(now, summaries);
            }
            else
            {
                Roll(now, summaries);
            }
        }

        return summaries;
    }

    private void Roll(DateTimeOffset now, List<AuditEntry> summaries)
    {
        if (now - _windowStart < window)
        {
            return;
        }

        Drain(now, summaries);
        _windowStart = now;
        _recorded = 0;
    }

    private void Drain(DateTimeOffset now, List<AuditEntry> summaries)
    {
        foreach (var ((actor, action), p) in _counted.OrderBy(c => c.Value.First))
        {
            summaries.Add(new AuditEntry(now, actor, action, null, null, AuditLog.Denied,
                $"{p.Count.ToString(CultureInfo.InvariantCulture)} further unauthenticated refusals from {p.First:O} to {p.Last:O}, counted, not recorded one by one (past {budget} per {window.TotalSeconds:0} s); the first: {p.FirstReason}",
                AuditKind.Summary));
        }

        _counted.Clear();
    }

    private sealed class Pending(DateTimeOffset first, string firstReason)
    {
        public DateTimeOffset First { get; } = first;

        public string FirstReason { get; } = firstReason;

        public DateTimeOffset Last { get; set; } = first;

        public long Count { get; set; }
    }
}
