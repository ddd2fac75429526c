using System.Security.Cryptography;
using Veil.Broker.Rcar;
using Veil.Broker.Storage;
using Veil.Broker.Tests.Support;

namespace Veil.Broker.Tests.Storage;

/// <summary>
/// What every session backend must hold, in memory (one replica) and in PostgreSQL (shared): a nonce is consumed once
/// even under concurrent replays, the token is written once and only after the nonce, expiry is enforced at consume
/// and lookup, sweeping drops expired sessions. The PostgreSQL suite drives two stores, as two replicas would.
/// </summary>
public abstract class SessionBackendContract : IAsyncLifetime
{
    private readonly TestClock _clock = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));

    /// <summary>The store a first replica uses.</summary>
    internal SessionStore A { get; private set; } = null!;

    /// <summary>Another replica's view of the same sessions (the same object for the in-memory backend).</summary>
    internal SessionStore B { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var (a, b) = await BackendsAsync();
        A = new SessionStore(_clock, TimeSpan.FromMinutes(5), a);
        B = new SessionStore(_clock, TimeSpan.FromMinutes(5), b);
    }

    public abstract Task DisposeAsync();

    internal abstract Task<(ISessionBackend A, ISessionBackend B)> BackendsAsync();

    [Fact]
    public async Task A_session_created_on_one_replica_is_found_on_the_other_with_its_nonce()
    {
        var s = await A.CreateAsync("sample", CancellationToken.None);
        var found = await B.FindAsync(s.Id, CancellationToken.None);
        Assert.NotNull(found.Session);
        Assert.Equal((s.Tee, s.Nonce, s.Expires), (found.Session.Tee, found.Session.Nonce, found.Session.Expires));
        Assert.Null(found.Session.Token);
        Assert.Contains("unknown session", (await B.FindAsync(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), CancellationToken.None)).Refusal, StringComparison.Ordinal);
        Assert.Contains("unknown session", (await B.FindAsync("not-an-id", CancellationToken.None)).Refusal, StringComparison.Ordinal);
        Assert.Contains("no kbs-session-id", (await B.FindAsync(null, CancellationToken.None)).Refusal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Concurrent_replays_of_one_nonce_on_both_replicas_consume_it_exactly_once()
    {
        var s = await A.CreateAsync("sample", CancellationToken.None);
        var views = await Task.WhenAll(Enumerable.Range(0, 16).Select(async i => (await (i % 2 == 0 ? A : B).FindAsync(s.Id, CancellationToken.None)).Session!));
        var outcomes = await Task.WhenAll(views.Select((v, i) => Task.Run(() => (i % 2 == 0 ? A : B).ConsumeNonceAsync(v, s.Nonce, CancellationToken.None))));
        Assert.Single(outcomes, o => o is null);
        Assert.All(outcomes.Where(o => o is not null), o => Assert.Contains("already used", o, StringComparison.Ordinal));
        // Later, on either replica, too.
        Assert.Contains("already used", await B.ConsumeNonceAsync((await B.FindAsync(s.Id, CancellationToken.None)).Session!, s.Nonce, CancellationToken.None), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_nonce_of_another_session_or_none_at_all_is_refused_by_name()
    {
        var one = await A.CreateAsync("sample", CancellationToken.None);
        var two = await A.CreateAsync("sample", CancellationToken.None);
        var oneOnB = (await B.FindAsync(one.Id, CancellationToken.None)).Session!;
        Assert.Equal("runtime-data.nonce was issued to another session", await B.ConsumeNonceAsync(oneOnB, two.Nonce, CancellationToken.None));
        Assert.Equal("runtime-data.nonce does not match this session's challenge", await B.ConsumeNonceAsync(oneOnB, Convert.ToBase64String(new byte[32]), CancellationToken.None));
        Assert.Null(await B.ConsumeNonceAsync(oneOnB, one.Nonce, CancellationToken.None)); // the refusals consumed nothing
    }

    [Fact]
    public async Task The_attestation_result_is_written_once_after_the_nonce_and_travels_to_the_other_replica()
    {
        var s = await A.CreateAsync("sample", CancellationToken.None);
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        Assert.NotNull(await A.CompleteAttestationAsync(s, "token-before-nonce", key, CancellationToken.None));
        Assert.Null(await A.ConsumeNonceAsync(s, s.Nonce, CancellationToken.None));
        Assert.Null(await A.CompleteAttestationAsync(s, "token-one", key, CancellationToken.None));

        var onB = (await B.FindAsync(s.Id, CancellationToken.None)).Session!;
        Assert.Equal("token-one", onB.Token);
        using var other = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        Assert.NotNull(await B.CompleteAttestationAsync(onB, "token-two", other, CancellationToken.None));
        var again = (await A.FindAsync(s.Id, CancellationToken.None)).Session!;
        Assert.Equal("token-one", again.Token);
        Assert.True(again.TeeKey is null || ReferenceEquals(again.TeeKey, key), "the tee key kept with a token is the one imported for it");
    }

    [Fact]
    public async Task Expiry_holds_on_every_replica_and_sweeping_removes_the_session()
    {
        var s = await A.CreateAsync("sample", CancellationToken.None);
        var onB = (await B.FindAsync(s.Id, CancellationToken.None)).Session!;
        _clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Contains("the session expired", await B.ConsumeNonceAsync(onB, s.Nonce, CancellationToken.None), StringComparison.Ordinal);
        Assert.Contains("session expired at", (await B.FindAsync(s.Id, CancellationToken.None)).Refusal, StringComparison.Ordinal);
        Assert.Contains("unknown session", (await A.FindAsync(s.Id, CancellationToken.None)).Refusal, StringComparison.Ordinal);

        var later = await A.CreateAsync("sample", CancellationToken.None);
        _clock.Advance(TimeSpan.FromMinutes(6));
        await B.CreateAsync("sample", CancellationToken.None); // sweeps (at most once a minute per replica)
        Assert.Contains("unknown session", (await A.FindAsync(later.Id, CancellationToken.None)).Refusal, StringComparison.Ordinal);
    }
}

public sealed class InMemorySessionTests : SessionBackendContract
{
    internal override Task<(ISessionBackend A, ISessionBackend B)> BackendsAsync()
    {
        var one = new InMemorySessionBackend();
        return Task.FromResult<(ISessionBackend, ISessionBackend)>((one, one));
    }

    public override Task DisposeAsync() => Task.CompletedTask;
}

public sealed class PostgresSessionTests : SessionBackendContract
{
    private PostgresTestDatabase? _db;
    private PostgresBrokerStore? _a;
    private PostgresBrokerStore? _b;

    internal override async Task<(ISessionBackend A, ISessionBackend B)> BackendsAsync()
    {
        _db = await PostgresTestServer.CreateDatabaseAsync();
        _a = await PostgresBrokerStore.OpenAsync(_db.Location, CancellationToken.None);
        _b = await PostgresBrokerStore.OpenAsync(_db.Location, CancellationToken.None);
        return (new PostgresSessionBackend(_a), new PostgresSessionBackend(_b));
    }

    public override async Task DisposeAsync()
    {
        if (_a is not null)
        {
            await _a.DisposeAsync();
        }

        if (_b is not null)
        {
            await _b.DisposeAsync();
        }

        if (_db is not null)
        {
            await _db.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_row_holds_the_hash_of_the_session_id_never_the_id()
    {
        var s = await A.CreateAsync("sample", CancellationToken.None);
        Assert.Equal(1L, await _db!.ScalarAsync<long>($"SELECT COUNT(*) FROM rcar_sessions WHERE id_hash = sha256('{s.Id}'::bytea);"));
        Assert.Equal(0L, await _db.ScalarAsync<long>($"SELECT COUNT(*) FROM rcar_sessions WHERE encode(id_hash, 'escape') LIKE '%{s.Id}%' OR tee LIKE '%{s.Id}%';"));
    }
}
