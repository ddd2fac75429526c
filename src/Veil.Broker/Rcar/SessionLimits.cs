using System.Net;
using Veil.Broker.Metrics;

namespace Veil.Broker.Rcar;

/// <summary>Why a session was refused, and when the caller may try again.</summary>
internal sealed record SessionCapRefusal(SessionRefusalReason Reason, TimeSpan RetryAfter, string Detail);

/// <summary>
/// The session caps: at most <see cref="Total"/> live sessions, and at most <see cref="PerClient"/> per client
/// address (<see cref="Limits.ClientKey"/>). Kept apart from <see cref="SessionStore"/>, which consults it: a session
/// lives exactly its timeout from creation (never extended), so the caps only need each admitted session's expiry,
/// in creation order. Whatever the store (in memory or shared by replicas), this type bounds what one broker
/// process admits; the memory it holds is one small entry per live session, so it is bounded by the caps too.
/// </summary>
internal sealed class SessionLimits
{
    public const int DefaultTotal = 20_000;
    public const int DefaultPerClient = 128;

    private readonly Lock _gate = new();
    private readonly Queue<(long Expires, IPAddress Client)> _byExpiry = new();
    private readonly Dictionary<IPAddress, Queue<long>> _byClient = [];

    public SessionLimits(int total, int perClient)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(total, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(perClient, 1);
        Total = total;
        PerClient = perClient;
    }

    public int Total { get; }

    public int PerClient { get; }

    /// <summary>Live sessions admitted (expired ones are forgotten on the next call).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _byExpiry.Count;
            }
        }
    }

    /// <summary>Admits a session of <paramref name="client"/> that will expire at <paramref name="expires"/>, or says why not.</summary>
    public SessionCapRefusal? TryAdmit(IPAddress client, DateTimeOffset now, DateTimeOffset expires)
    {
        lock (_gate)
        {
            Forget(now.UtcTicks);
            if (_byExpiry.Count >= Total)
            {
                var after = RetryAfter(_byExpiry.Peek().Expires, now);
                return new(SessionRefusalReason.TotalCap, after,
                    $"the broker holds its maximum of {Total} sessions; retry after {after.TotalSeconds:0} s");
            }

            if (_byClient.TryGetValue(client, out var mine) && mine.Count >= PerClient)
            {
                var after = RetryAfter(mine.Peek(), now);
                return new(SessionRefusalReason.ClientCap, after,
                    $"this client holds its maximum of {PerClient} sessions (each lasts until it expires); retry after {after.TotalSeconds:0} s");
            }

            if (mine is null)
            {
                mine = new Queue<long>();
                _byClient[client] = mine;
            }

            mine.Enqueue(expires.UtcTicks);
            _byExpiry.Enqueue((expires.UtcTicks, client));
            return null;
        }
    }

    /// <summary>Whole seconds, at least one: what a Retry-After header carries.</summary>
    private static TimeSpan RetryAfter(long expiresTicks, DateTimeOffset now) =>
        TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(TimeSpan.FromTicks(expiresTicks - now.UtcTicks).TotalSeconds)));

    private void Forget(long nowTicks)
    {
        while (_byExpiry.TryPeek(out var head) && head.Expires <= nowTicks)
        {
            _byExpiry.Dequeue();
            var q = _byClient[head.Client];
            q.Dequeue();
            if (q.Count == 0)
            {
                _byClient.Remove(head.Client);
            }
        }
    }
}
