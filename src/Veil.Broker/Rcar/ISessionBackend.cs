using System.Security.Cryptography;

namespace Veil.Broker.Rcar;

/// <summary>How consuming a nonce went.</summary>
internal enum NonceOutcome
{
    Consumed,
    Mismatch,
    IssuedToAnotherSession,
    AlreadyUsed,
    SessionGone,
}

/// <summary>
/// Where RCAR sessions live: this process's memory (one replica, SQLite) or the shared PostgreSQL store (every
/// replica sees every session). The state changes are conditional so that they hold across processes: a nonce is
/// consumed at most once, a session's attestation result is written at most once.
/// </summary>
internal interface ISessionBackend
{
    /// <summary>Sessions held (in memory: exact; shared: not counted, -1).</summary>
    int Count { get; }

    Task CreateAsync(RcarSession session, CancellationToken ct);

    /// <summary>The session as stored now, or null when unknown (never issued, swept, or lost in a store crash).</summary>
    Task<RcarSession?> FindAsync(string id, CancellationToken ct);

    Task RemoveAsync(RcarSession session, CancellationToken ct);

    /// <summary>Marks the nonce used if it is this session's and unused and the session has not expired at <paramref name="now"/>.</summary>
    Task<NonceOutcome> ConsumeNonceAsync(RcarSession session, string presented, DateTimeOffset now, CancellationToken ct);

    /// <summary>
    /// Records the session's attestation token (and, in this process, the imported tee key it was issued for) once;
    /// false when the session already has a token or is gone.
    /// </summary>
    Task<bool> CompleteAsync(RcarSession session, string token, ECDiffieHellman? teeKey, CancellationToken ct);

    /// <summary>Drops sessions that expired before <paramref name="now"/>.</summary>
    Task SweepAsync(DateTimeOffset now, CancellationToken ct);
}
