using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Veil.Broker.Rcar;

/// <summary>
/// Sessions in this process's memory: the single-replica (SQLite) broker, as it always was. Nonces are tracked so
/// that a nonce presented in another session is recognised as such.
/// </summary>
internal sealed class InMemorySessionBackend : ISessionBackend
{
    private readonly ConcurrentDictionary<string, RcarSession> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _nonceOwner = new(StringComparer.Ordinal);

    public int Count => _sessions.Count;

    public Task CreateAsync(RcarSession session, CancellationToken ct)
    {
        _sessions[session.Id] = session;
        _nonceOwner[session.Nonce] = session.Id;
        return Task.CompletedTask;
    }

    public Task<RcarSession?> FindAsync(string id, CancellationToken ct) =>
        Task.FromResult(_sessions.TryGetValue(id, out var s) ? s : null);

    public Task RemoveAsync(RcarSession session, CancellationToken ct)
    {
        _sessions.TryRemove(session.Id, out _);
        _nonceOwner.TryRemove(session.Nonce, out _);
        return Task.CompletedTask;
    }

    public Task<NonceOutcome> ConsumeNonceAsync(RcarSession session, string presented, DateTimeOffset now, CancellationToken ct)
    {
        lock (session)
        {
            if (!string.Equals(presented, session.Nonce, StringComparison.Ordinal))
            {
                return Task.FromResult(_nonceOwner.TryGetValue(presented, out var owner) && owner != session.Id
                    ? NonceOutcome.IssuedToAnotherSession
                    : NonceOutcome.Mismatch);
            }

            if (session.NonceUsed)
            {
                return Task.FromResult(NonceOutcome.AlreadyUsed);
            }

            if (now >= session.Expires)
            {
                return Task.FromResult(NonceOutcome.SessionGone);
            }

            session.NonceUsed = true;
            return Task.FromResult(NonceOutcome.Consumed);
        }
    }

    public Task<bool> CompleteAsync(RcarSession session, string token, ECDiffieHellman? teeKey, CancellationToken ct)
    {
        lock (session)
        {
            if (session.HasToken || !session.NonceUsed || !_sessions.ContainsKey(session.Id))
            {
                return Task.FromResult(false);
            }

            session.Token = token;
            session.TeeKey = teeKey;
            return Task.FromResult(true);
        }
    }

    public async Task SweepAsync(DateTimeOffset now, CancellationToken ct)
    {
        foreach (var s in _sessions.Values)
        {
            if (now >= s.Expires)
            {
                await RemoveAsync(s, ct).ConfigureAwait(false);
            }
        }
    }
}
