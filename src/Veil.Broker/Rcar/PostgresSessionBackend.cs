using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using Veil.Broker.Storage;

namespace Veil.Broker.Rcar;

/// <summary>
/// RCAR sessions as rows of <c>rcar_sessions</c> in the shared PostgreSQL store, so any replica can serve any step
/// of a handshake. Every state change is one conditional UPDATE, so it holds across replicas: the nonce flips to
/// used once (a concurrent replay on another replica matches no row), and the token is written once, only after
/// the nonce was consumed. The row keys on SHA-256 of the session id (the cookie is a credential, the row never
/// holds it). The tee key is not stored: the replica that verified the attestation keeps the imported key, and
/// uses it only while the stored token is the one it was imported for; any other replica imports the key from the
/// token itself, which the broker signed, so the key used for a release is always the one the token attests.
/// </summary>
internal sealed class PostgresSessionBackend(PostgresBrokerStore store) : ISessionBackend
{
    // Bounded: entries go when their session expires (swept) or on overflow, which only costs a second key import.
    private const int MaxLocalKeys = 65_536;
    private readonly ConcurrentDictionary<string, (byte[] TokenDigest, ECDiffieHellman Key, DateTimeOffset Expires)> _localKeys = new(StringComparer.Ordinal);

    public int Count => -1;

    public Task CreateAsync(RcarSession session, CancellationToken ct) => store.RunAsync(async (c, t) =>
    {
        await using var cmd = new NpgsqlCommand("INSERT INTO rcar_sessions (id_hash, tee, nonce, expires_at) VALUES ($1, $2, $3, $4);", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = IdHash(session.Id) });
        cmd.Parameters.Add(new NpgsqlParameter { Value = session.Tee });
        cmd.Parameters.Add(new NpgsqlParameter { Value = session.Nonce });
        cmd.Parameters.Add(new NpgsqlParameter { Value = session.Expires.ToUniversalTime() });
        return await cmd.ExecuteNonQueryAsync(t).ConfigureAwait(false);
    }, ct);

    public Task<RcarSession?> FindAsync(string id, CancellationToken ct) => store.RunAsync(async (c, t) =>
    {
        await using var cmd = new NpgsqlCommand("SELECT tee, nonce, expires_at, nonce_used, token FROM rcar_sessions WHERE id_hash = $1;", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = IdHash(id) });
        await using var r = await cmd.ExecuteReaderAsync(t).ConfigureAwait(false);
        if (!await r.ReadAsync(t).ConfigureAwait(false))
        {
            return null;
        }

        var session = new RcarSession(id, r.GetString(0), r.GetString(1), r.GetFieldValue<DateTimeOffset>(2))
        {
            NonceUsed = r.GetBoolean(3),
            Token = r.IsDBNull(4) ? null : r.GetString(4),
        };
        if (_localKeys.TryGetValue(id, out var local) && session.TokenDigest() is { } digest && CryptographicOperations.FixedTimeEquals(local.TokenDigest, digest))
        {
            session.TeeKey = local.Key;
        }

        return session;
    }, ct);

    public async Task RemoveAsync(RcarSession session, CancellationToken ct)
    {
        _localKeys.TryRemove(session.Id, out _);
        await store.RunAsync(async (c, t) =>
        {
            await using var cmd = new NpgsqlCommand("DELETE FROM rcar_sessions WHERE id_hash = $1;", c);
            cmd.Parameters.Add(new NpgsqlParameter { Value = IdHash(session.Id) });
            return await cmd.ExecuteNonQueryAsync(t).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);
    }

    public Task<NonceOutcome> ConsumeNonceAsync(RcarSession session, string presented, DateTimeOffset now, CancellationToken ct) => store.RunAsync(async (c, t) =>
    {
        var idHash = IdHash(session.Id);
        if (!string.Equals(presented, session.Nonce, StringComparison.Ordinal))
        {
            await using var other = new NpgsqlCommand("SELECT 1 FROM rcar_sessions WHERE nonce = $1 AND id_hash <> $2;", c);
            other.Parameters.Add(new NpgsqlParameter { Value = presented });
            other.Parameters.Add(new NpgsqlParameter { Value = idHash });
            return await other.ExecuteScalarAsync(t).ConfigureAwait(false) is null ? NonceOutcome.Mismatch : NonceOutcome.IssuedToAnotherSession;
        }

        await using (var consume = new NpgsqlCommand(
            "UPDATE rcar_sessions SET nonce_used = true WHERE id_hash = $1 AND nonce = $2 AND NOT nonce_used AND expires_at > $3;", c))
        {
            consume.Parameters.Add(new NpgsqlParameter { Value = idHash });
            consume.Parameters.Add(new NpgsqlParameter { Value = presented });
            consume.Parameters.Add(new NpgsqlParameter { Value = now.ToUniversalTime() });
            if (await consume.ExecuteNonQueryAsync(t).ConfigureAwait(false) == 1)
            {
                return NonceOutcome.Consumed;
            }
        }

        // Refused: say why (only the refusal path pays this second round trip).
        await using var why = new NpgsqlCommand("SELECT nonce_used FROM rcar_sessions WHERE id_hash = $1;", c);
        why.Parameters.Add(new NpgsqlParameter { Value = idHash });
        return await why.ExecuteScalarAsync(t).ConfigureAwait(false) is true ? NonceOutcome.AlreadyUsed : NonceOutcome.SessionGone;
    }, ct);

    public async Task<bool> CompleteAsync(RcarSession session, string token, ECDiffieHellman? teeKey, CancellationToken ct)
    {
        var written = await store.RunAsync(async (c, t) =>
        {
            await using var cmd = new NpgsqlCommand("UPDATE rcar_sessions SET token = $2 WHERE id_hash = $1 AND nonce_used AND token IS NULL;", c);
            cmd.Parameters.Add(new NpgsqlParameter { Value = IdHash(session.Id) });
            cmd.Parameters.Add(new NpgsqlParameter { Value = token });
            return await cmd.ExecuteNonQueryAsync(t).ConfigureAwait(false) == 1;
        }, ct).ConfigureAwait(false);
        if (written)
        {
            session.Token = token;
            session.TeeKey = teeKey;
            if (teeKey is not null && _localKeys.Count < MaxLocalKeys)
            {
                _localKeys[session.Id] = (session.TokenDigest()!, teeKey, session.Expires);
            }
        }

        return written;
    }

    public async Task SweepAsync(DateTimeOffset now, CancellationToken ct)
    {
        foreach (var (id, entry) in _localKeys)
        {
            if (now >= entry.Expires)
            {
                _localKeys.TryRemove(id, out _);
            }
        }

        await store.RunAsync(async (c, t) =>
        {
            await using var cmd = new NpgsqlCommand("DELETE FROM rcar_sessions WHERE expires_at <= $1;", c);
            cmd.Parameters.Add(new NpgsqlParameter { Value = now.ToUniversalTime() });
            return await cmd.ExecuteNonQueryAsync(t).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);
    }

    private static byte[] IdHash(string id) => SHA256.HashData(Encoding.ASCII.GetBytes(id));
}
