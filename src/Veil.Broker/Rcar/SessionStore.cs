using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;

namespace Veil.Broker.Rcar;

/// <summary>Outcome of looking a session up from its cookie.</summary>
internal sealed record SessionLookup(RcarSession? Session, string? Refusal);

/// <summary>
/// In-memory RCAR sessions (a replica-shared store comes with PostgreSQL). Expired sessions are refused and
/// swept; nonces are tracked so that a nonce presented in another session is recognised as such. New sessions
/// are admitted by <see cref="SessionLimits"/> (total and per-client caps).
/// </summary>
internal sealed class SessionStore(TimeProvider time, TimeSpan timeout, SessionLimits limits)
{
    private readonly ConcurrentDictionary<string, RcarSession> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _nonceOwner = new(StringComparer.Ordinal);
    private long _lastSweepTicks;

    public TimeSpan Timeout => timeout;

    public int Count => _sessions.Count;

    public SessionLimits Limits => limits;

    /// <summary>A new session for <paramref name="client"/>, or null with the cap that refused it.</summary>
    public RcarSession? TryCreate(string tee, IPAddress client, out SessionCapRefusal? refusal)
    {
        Sweep();
        var now = time.GetUtcNow();
        refusal = limits.TryAdmit(client, now, now + timeout);
        if (refusal is not null)
        {
            return null;
        }

        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)); // UUID-sized, 32 hex chars like Trustee
        var nonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var session = new RcarSession(id, tee, nonce, now + timeout);
        _sessions[id] = session;
        _nonceOwner[nonce] = id;
        return session;
    }

    public SessionLookup Find(string? id)
    {
        if (string.IsNullOrEmpty(id))
        {
            return new(null, "no kbs-session-id cookie: call /kbs/v0/auth first");
        }

        if (!_sessions.TryGetValue(id, out var s))
        {
            return new(null, "unknown session (expired and removed, or never issued): start again with /kbs/v0/auth");
        }

        if (time.GetUtcNow() >= s.Expires)
        {
            Remove(s);
            return new(null, $"session expired at {s.Expires:O} (sessions last {timeout.TotalMinutes:0.#} min): start again with /kbs/v0/auth");
        }

        return new(s, null);
    }

    /// <summary>Consumes the session's nonce; null if it was this session's unused nonce, else the refusal.</summary>
    public string? ConsumeNonce(RcarSession session, string presented)
    {
        lock (session)
        {
            if (!string.Equals(presented, session.Nonce, StringComparison.Ordinal))
            {
                return _nonceOwner.TryGetValue(presented, out var owner) && owner != session.Id
                    ? "runtime-data.nonce was issued to another session"
                    : "runtime-data.nonce does not match this session's challenge";
            }

            if (session.NonceUsed)
            {
                return "runtime-data.nonce was already used: nonces are single use, start again with /kbs/v0/auth";
            }

            session.NonceUsed = true;
            return null;
        }
    }

    private void Remove(RcarSession s)
    {
        _sessions.TryRemove(s.Id, out _);
        _nonceOwner.TryRemove(s.Nonce, out _);
    }

    private void Sweep()
    {
        var now = time.GetUtcNow();
        var last = Interlocked.Read(ref _lastSweepTicks);
        if (now.UtcTicks - last < TimeSpan.TicksPerMinute || Interlocked.CompareExchange(ref _lastSweepTicks, now.UtcTicks, last) != last)
        {
            return;
        }

        foreach (var s in _sessions.Values)
        {
            if (now >= s.Expires)
            {
                Remove(s);
            }
        }
    }
}
