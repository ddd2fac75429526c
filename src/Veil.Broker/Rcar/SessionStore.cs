using System.Net;
using System.Security.Cryptography;

namespace Veil.Broker.Rcar;

/// <summary>Outcome of looking a session up from its cookie.</summary>
internal sealed record SessionLookup(RcarSession? Session, string? Refusal);

/// <summary>
/// RCAR sessions: issues ids and nonces, refuses expired or unknown sessions and reused nonces with the reason.
/// Where the sessions live is the backend's business: this process's memory (one replica) or PostgreSQL (shared by
/// every replica, so /auth, /attest and /resource may each reach a different one). Expired sessions are swept. New
/// sessions are admitted by <see cref="SessionLimits"/> (total and per-client caps, counted by this replica: with
/// N replicas the shared table holds at most N times the total).
/// </summary>
internal sealed class SessionStore(TimeProvider time, TimeSpan timeout, SessionLimits limits, ISessionBackend backend)
{
    private long _lastSweepTicks;

    public SessionStore(TimeProvider time, TimeSpan timeout)
        : this(time, timeout, new SessionLimits(SessionLimits.DefaultTotal, SessionLimits.DefaultPerClient), new InMemorySessionBackend())
    {
    }

    public SessionStore(TimeProvider time, TimeSpan timeout, SessionLimits limits)
        : this(time, timeout, limits, new InMemorySessionBackend())
    {
    }

    public SessionStore(TimeProvider time, TimeSpan timeout, ISessionBackend backend)
        : this(time, timeout, new SessionLimits(SessionLimits.DefaultTotal, SessionLimits.DefaultPerClient), backend)
    {
    }

    public TimeSpan Timeout => timeout;

    /// <summary>Sessions held by an in-memory backend; -1 when they are shared (not counted per replica).</summary>
    public int Count => backend.Count;

    public SessionLimits Limits => limits;

    /// <summary>A new session for <paramref name="client"/>, or no session and the cap that refused it.</summary>
    public async Task<(RcarSession? Session, SessionCapRefusal? Refusal)> TryCreateAsync(string tee, IPAddress client, CancellationToken ct)
    {
        await SweepAsync(ct).ConfigureAwait(false);
        var now = time.GetUtcNow();
        var refusal = limits.TryAdmit(client, now, now + timeout);
        if (refusal is not null)
        {
            return (null, refusal);
        }

        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)); // UUID-sized, 32 hex chars like Trustee
        var nonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var session = new RcarSession(id, tee, nonce, now + timeout);
        await backend.CreateAsync(session, ct).ConfigureAwait(false);
        return (session, null);
    }

    public async Task<RcarSession> CreateAsync(string tee, CancellationToken ct)
    {
        var (session, refusal) = await TryCreateAsync(tee, IPAddress.Loopback, ct).ConfigureAwait(false);
        return session ?? throw new InvalidOperationException(refusal!.Detail);
    }

    public async Task<SessionLookup> FindAsync(string? id, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(id))
        {
            return new(null, "no kbs-session-id cookie: call /kbs/v0/auth first");
        }

        // Ids are 32 hex characters; anything else is not ours and is not worth a store round trip.
        if (id.Length != 32 || !id.All(char.IsAsciiHexDigitLower))
        {
            return new(null, "unknown session (expired and removed, or never issued): start again with /kbs/v0/auth");
        }

        var s = await backend.FindAsync(id, ct).ConfigureAwait(false);
        if (s is null)
        {
            return new(null, "unknown session (expired and removed, or never issued): start again with /kbs/v0/auth");
        }

        if (time.GetUtcNow() >= s.Expires)
        {
            await backend.RemoveAsync(s, ct).ConfigureAwait(false);
            return new(null, $"session expired at {s.Expires:O} (sessions last {timeout.TotalMinutes:0.#} min): start again with /kbs/v0/auth");
        }

        return new(s, null);
    }

    /// <summary>Consumes the session's nonce; null if it was this session's unused nonce, else the refusal.</summary>
    public async Task<string?> ConsumeNonceAsync(RcarSession session, string presented, CancellationToken ct) =>
        await backend.ConsumeNonceAsync(session, presented, time.GetUtcNow(), ct).ConfigureAwait(false) switch
        {
            NonceOutcome.Consumed => null,
            NonceOutcome.IssuedToAnotherSession => "runtime-data.nonce was issued to another session",
            NonceOutcome.Mismatch => "runtime-data.nonce does not match this session's challenge",
            NonceOutcome.AlreadyUsed => "runtime-data.nonce was already used: nonces are single use, start again with /kbs/v0/auth",
            _ => "the session expired or is gone: start again with /kbs/v0/auth",
        };

    /// <summary>
    /// Records the attestation result and the tee key it was issued for, together and once; null when recorded,
    /// else the refusal (the session has an attestation result already, or is gone).
    /// </summary>
    public async Task<string?> CompleteAttestationAsync(RcarSession session, string token, ECDiffieHellman? teeKey, CancellationToken ct) =>
        await backend.CompleteAsync(session, token, teeKey, ct).ConfigureAwait(false)
            ? null
            : "the session already holds an attestation result, or is gone: start again with /kbs/v0/auth";

    private async Task SweepAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var last = Interlocked.Read(ref _lastSweepTicks);
        if (now.UtcTicks - last < TimeSpan.TicksPerMinute || Interlocked.CompareExchange(ref _lastSweepTicks, now.UtcTicks, last) != last)
        {
            return;
        }

        await backend.SweepAsync(now, ct).ConfigureAwait(false);
    }
}
