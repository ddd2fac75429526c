using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Npgsql;
using Veil.Broker.Secrets;
using Veil.Broker.Storage;
using Veil.Protocol.Client;
using Veil.Protocol.Jose;
using Veil.Protocol.Messages;

namespace Veil.Broker.Tests.Drills;

/// <summary>The drill's size and its faults.</summary>
internal sealed record DrillOptions
{
    public int Replicas { get; init; } = 3;

    public int Guests { get; init; } = 64;

    public int HandshakesPerGuest { get; init; } = 3;

    public int AdminWriters { get; init; } = 2;

    /// <summary>Fault rounds: each kills one replica (kill -9, then restarted) and restarts PostgreSQL once.</summary>
    public int FaultRounds { get; init; } = 1;

    public TimeSpan Deadline { get; init; } = TimeSpan.FromMinutes(4);
}

/// <summary>What the drill counted; <see cref="Failures"/> lists every broken invariant.</summary>
internal sealed record DrillReport(
    int GuestsDone, int Guests, long Releases, long ReleasesWithoutAttestation, long UnattestedProbesRefused, long AdminWritesAcknowledged,
    long AdminWritesLost, long NoncesAcceptedTwice, long ReplaysRefused, long Http500, long Http503, long NetworkErrors, long SessionsLostInCrash,
    long UnexpectedRefusals, long AuditReleasesWithoutAttest, TimeSpan Elapsed, IReadOnlyList<string> Faults, string UnexpectedKinds = "")
{
    public IReadOnlyList<string> Failures
    {
        get
        {
            var f = new List<string>();
            if (GuestsDone != Guests)
            {
                f.Add($"{Guests - GuestsDone} of {Guests} guests not done");
            }

            if (ReleasesWithoutAttestation != 0 || AuditReleasesWithoutAttest != 0)
            {
                f.Add($"releases without a verified attestation: {ReleasesWithoutAttestation} seen by guests, {AuditReleasesWithoutAttest} in the audit");
            }

            if (AdminWritesLost != 0)
            {
                f.Add($"{AdminWritesLost} acknowledged admin writes lost");
            }

            if (NoncesAcceptedTwice != 0)
            {
                f.Add($"{NoncesAcceptedTwice} nonces accepted twice");
            }

            if (Http500 != 0)
            {
                f.Add($"{Http500} answers were 500");
            }

            if (UnexpectedRefusals != 0)
            {
                f.Add($"{UnexpectedRefusals} refusals no fault explains");
            }

            return f;
        }
    }

    public string Summary =>
        $"replica drill: guests_done={GuestsDone}/{Guests} releases={Releases} releases_without_attestation={ReleasesWithoutAttestation} " +
        $"audit_releases_without_attest={AuditReleasesWithoutAttest} unattested_probes_refused={UnattestedProbesRefused} admin_writes_acked={AdminWritesAcknowledged} " +
        $"admin_writes_lost={AdminWritesLost} nonces_accepted_twice={NoncesAcceptedTwice} replays_refused={ReplaysRefused} http_500={Http500} http_503={Http503} " +
        $"network_errors={NetworkErrors} sessions_lost_in_pg_crash={SessionsLostInCrash} unexpected_refusals={UnexpectedRefusals} elapsed_s={Elapsed.TotalSeconds:F1} faults=[{string.Join("; ", Faults)}]" +
        (UnexpectedKinds.Length > 0 ? $" unexpected_kinds=[{UnexpectedKinds}]" : "");
}

/// <summary>
/// N broker replicas (real processes) on one PostgreSQL; guests speaking KBS with auth, attest and resource each sent
/// to a different replica, every attestation also replayed at once (and again later) to another replica, probes
/// that ask for the resource without attesting, admin writers in parallel; mid-load one replica is killed with
/// SIGKILL and restarted, and PostgreSQL is restarted as after a crash. A guest retries from /auth after a 503, a
/// cut connection, or a session the crash took (sessions are UNLOGGED); everything else is counted.
/// </summary>
#pragma warning disable CA1001 // _http is created and disposed within RunAsync
internal sealed class ReplicaFaultDrill(string veilDll, string dataDir, string storeUrl, Action<string> restartPostgres, Action<string> log)
#pragma warning restore CA1001
{
    private const string Resource = "default/model/drill";
    private readonly ConcurrentDictionary<string, string> _ackedResources = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _ackedPolicies = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, long> _downUntil = new();
    private readonly List<string> _faults = [];

    // Which refusals no fault explains, by status and problem title: the count alone does not say what to fix.
    private readonly ConcurrentDictionary<string, long> _unexpectedKinds = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _unexpectedFirst = new(StringComparer.Ordinal);
    private long _releases, _withoutAttestation, _probesRefused, _twice, _replaysRefused, _h500, _h503, _netErrors, _lostInCrash, _unexpected, _handshakesDone;
    private long _pgRestartStartedTicks = long.MaxValue, _pgRestartDoneTicks = long.MaxValue;
    private int[] _ports = [];
    private string? _configFile;
    private volatile bool _faultsOver;
    private HttpClient _http = null!;

    public async Task<DrillReport> RunAsync(DrillOptions o, CancellationToken ct)
    {
        var started = Stopwatch.StartNew();
        _ports = Enumerable.Range(0, o.Replicas).Select(_ => FreePort()).ToArray();
        // Every guest of the drill is 127.0.0.1, so the per-client defaults (128 pending sessions, 20 auth/attest and 10
        // admin requests per second) would refuse most of the load with 429: measured, 10669 TooManySessions (each
        // handshake's never-attested probe session stays pending until it expires), 1313 TooManyRequests and 1031 admin
        // 429s in one run. The drill tests replicas and faults, not those limits (SessionAndRateLimitTests and the soak
        // do), so it lifts them through the documented settings, as a deployment behind one proxy address would.
        _configFile = Path.Combine(Directory.CreateTempSubdirectory("veil-drill-config-").FullName, "limits.yaml");
        File.WriteAllText(_configFile, """
            max-sessions: 1000000
            max-sessions-per-client: 1000000
            rate-limit-auth: 1000000
            rate-limit-attest: 1000000
            rate-limit-admin: 1000000
            """);
        var replicas = new ReplicaProcess?[o.Replicas];
        using var handler = new SocketsHttpHandler { UseCookies = false, PooledConnectionLifetime = TimeSpan.FromSeconds(30), ConnectTimeout = TimeSpan.FromSeconds(5) };
        _http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(20) };
        try
        {
            for (var i = 0; i < o.Replicas; i++)
            {
                replicas[i] = ReplicaProcess.Start(veilDll, dataDir, _ports[i], storeUrl, log, _configFile);
            }

            await Task.WhenAll(replicas.Select(r => r!.ListeningAsync()));
            var adminToken = File.ReadAllText(Path.Combine(dataDir, "admin.token")).Trim();
            var secret = "drill-secret-" + Guid.NewGuid().ToString("N");
            using (var put = await AdminAsync(HttpMethod.Post, 0, "kbs/v0/resource/" + Resource, Encoding.UTF8.GetBytes(secret), adminToken, ct))
            {
                put.EnsureSuccessStatusCode();
            }

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            stop.CancelAfter(o.Deadline);
            var total = o.Guests * o.HandshakesPerGuest;
            var guests = Enumerable.Range(0, o.Guests).Select(g => Task.Run(() => GuestAsync(g, o.HandshakesPerGuest, secret, stop.Token))).ToList();
            using var adminsStop = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
            var admins = Enumerable.Range(0, o.AdminWriters).Select(w => Task.Run(() => AdminWriterAsync(w, adminToken, adminsStop.Token))).ToList();
            var faults = Task.Run(() => FaultsAsync(o, total, replicas, stop.Token), CancellationToken.None);

            var done = await Task.WhenAll(guests);
            await adminsStop.CancelAsync();
            await Task.WhenAll(admins);
            await faults;

            var (lost, auditWithout) = await VerifyStoreAsync();
            return new DrillReport(
                done.Count(d => d), o.Guests, _releases, _withoutAttestation, _probesRefused, _ackedResources.Count + _ackedPolicies.Count, lost, _twice, _replaysRefused,
                _h500, _h503, _netErrors, _lostInCrash, _unexpected, auditWithout, started.Elapsed, _faults,
                string.Join("; ", _unexpectedKinds.OrderByDescending(k => k.Value).Take(6).Select(k => $"{k.Key} x{k.Value}, first: {_unexpectedFirst.GetValueOrDefault(k.Key)}")));
        }
        finally
        {
            foreach (var r in replicas)
            {
                r?.Dispose();
            }

            _http.Dispose();
            if (_configFile is not null)
            {
                Directory.Delete(Path.GetDirectoryName(_configFile)!, recursive: true);
            }
        }
    }

    /// <summary>
    /// Each round: once a quarter of the guests' handshakes are done, kill -9 a replica and start it again on its port;
    /// once more handshakes have completed with it back, restart PostgreSQL as after a crash. Guests keep going
    /// until the last fault is over, so every fault lands on a loaded system.
    /// </summary>
    private async Task FaultsAsync(DrillOptions o, int total, ReplicaProcess?[] replicas, CancellationToken ct)
    {
        try
        {
            for (var round = 0; round < o.FaultRounds; round++)
            {
                var victim = 1 + (round % Math.Max(1, o.Replicas - 1));
                var from = Interlocked.Read(ref _handshakesDone);
                await UntilAsync(() => Interlocked.Read(ref _handshakesDone) >= from + Math.Max(1, total / 4), ct);
                replicas[victim]!.KillHard();
                Note($"kill -9 replica {victim} at {Interlocked.Read(ref _handshakesDone)} handshakes");
                replicas[victim]!.Dispose();
                await Task.Delay(1000, ct);
                replicas[victim] = ReplicaProcess.Start(veilDll, dataDir, _ports[victim], storeUrl, log, _configFile);
                await replicas[victim]!.ListeningAsync();
                Note($"replica {victim} back at {Interlocked.Read(ref _handshakesDone)} handshakes");
                var back = Interlocked.Read(ref _handshakesDone);
                await UntilAsync(() => Interlocked.Read(ref _handshakesDone) >= back + Math.Max(1, total / 8), ct);
                Interlocked.Exchange(ref _pgRestartStartedTicks, Stopwatch.GetTimestamp());
                restartPostgres("immediate");
                Interlocked.Exchange(ref _pgRestartDoneTicks, Stopwatch.GetTimestamp());
                Note($"PostgreSQL restarted (immediate) at {Interlocked.Read(ref _handshakesDone)} handshakes");
                var after = Interlocked.Read(ref _handshakesDone);
                await UntilAsync(() => Interlocked.Read(ref _handshakesDone) >= after + Math.Max(1, total / 8), ct);
            }
        }
        catch (OperationCanceledException)
        {
            Note("deadline reached before every fault was injected");
        }
        finally
        {
            _faultsOver = true;
        }
    }

    private void Note(string fault)
    {
        lock (_faults)
        {
            _faults.Add(fault);
        }
    }

    private async Task<bool> GuestAsync(int g, int handshakes, string secret, CancellationToken ct)
    {
        using var key = TeeKey.CreateEc();
        var rng = new Random(g);
        var completed = 0;
        for (var attempt = 0; completed < handshakes || !_faultsOver; attempt++)
        {
            if (ct.IsCancellationRequested)
            {
                return false;
            }

            Step outcome;
            try
            {
                outcome = await HandshakeAsync(g + attempt, key, secret, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return false;
            }

            if (outcome == Step.Done)
            {
                completed++;
                Interlocked.Increment(ref _handshakesDone);
            }
            else
            {
                await Task.Delay(100 + rng.Next(200), CancellationToken.None);
            }
        }

        return true;
    }

    private enum Step
    {
        Done,
        Retry,
    }

    private async Task<Step> HandshakeAsync(int slot, TeeKey key, string secret, CancellationToken ct)
    {
        var (authAt, attestAt, resourceAt) = (Pick(slot), Pick(slot + 1), Pick(slot + 2));
        var authStarted = Stopwatch.GetTimestamp();
        var auth = await SendAsync(authAt, HttpMethod.Post, "kbs/v0/auth", Encoding.UTF8.GetBytes("""{"version":"0.4.0","tee":"sample","extra-params":{}}"""), null, ct);
        if (auth.Status != 200)
        {
            return Count(auth, authStarted);
        }

        var cookie = auth.Cookie!;
        var nonce = KbsChallenge.Parse(auth.Body).Nonce;
        var body = new KbsAttestation(new RuntimeData(nonce, key.PublicJson), new TeeEvidence(SampleAttester.Evidence(nonce, key.PublicJson), "")).ToUtf8();

        // The attestation and, at the same moment, a replay of it to another replica: at most one may be accepted.
        var replayAt = Pick(slot + 2);
        var both = await Task.WhenAll(SendAsync(attestAt, HttpMethod.Post, "kbs/v0/attest", body, cookie, ct), SendAsync(replayAt, HttpMethod.Post, "kbs/v0/attest", body, cookie, ct));
        var accepted = both.Count(a => a.Status == 200);
        if (accepted > 1)
        {
            Interlocked.Increment(ref _twice);
        }

        foreach (var a in both.Where(a => a.Status == 401))
        {
            if (a.Text.Contains("already used", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _replaysRefused);
            }
        }

        if (accepted == 0)
        {
            foreach (var a in both.Where(a => !(a.Status == 401 && a.Text.Contains("already used", StringComparison.Ordinal))))
            {
                Count(a, authStarted);
            }

            return Step.Retry;
        }

        // A later replay on the third replica is refused too.
        var late = await SendAsync(Pick(slot), HttpMethod.Post, "kbs/v0/attest", body, cookie, ct);
        if (late.Status == 200)
        {
            Interlocked.Increment(ref _twice);
        }
        else if (late.Status == 401)
        {
            Interlocked.Increment(ref _replaysRefused);
        }

        // A session that never attested asks for the resource: it must be refused, whatever else is going on.
        var probe = await SendAsync(Pick(slot + 1), HttpMethod.Post, "kbs/v0/auth", Encoding.UTF8.GetBytes("""{"version":"0.4.0","tee":"sample","extra-params":{}}"""), null, ct);
        if (probe.Status == 200)
        {
            var probed = await SendAsync(resourceAt, HttpMethod.Get, "kbs/v0/resource/" + Resource, null, probe.Cookie, ct);
            if (probed.Status == 200)
            {
                Interlocked.Increment(ref _withoutAttestation);
            }
            else if (probed.Status == 401)
            {
                Interlocked.Increment(ref _probesRefused);
            }
            else
            {
                Count(probed, long.MaxValue);
            }
        }

        var resource = await SendAsync(resourceAt, HttpMethod.Get, "kbs/v0/resource/" + Resource, null, cookie, ct);
        if (resource.Status != 200)
        {
            return Count(resource, authStarted);
        }

        var value = Encoding.UTF8.GetString(key.Decrypt(FlattenedJwe.Parse(resource.Body)));
        if (value != secret)
        {
            Interlocked.Increment(ref _withoutAttestation); // something else than this session's resource came back
        }

        Interlocked.Increment(ref _releases);
        return Step.Done;
    }

    /// <summary>Counts a failed step; a refusal is excused only when a fault explains it.</summary>
    private Step Count(Answer a, long sessionStartedTicks)
    {
        switch (a.Status)
        {
            case 500:
                Interlocked.Increment(ref _h500);
                log("HTTP 500: " + a.Text);
                break;
            case 503:
                Interlocked.Increment(ref _h503);
                break;
            case 0:
                Interlocked.Increment(ref _netErrors);
                break;
            case 401 when (a.Text.Contains("InvalidSession", StringComparison.Ordinal) || a.Text.Contains("TokenNotFound", StringComparison.Ordinal) || a.Text.Contains("already used", StringComparison.Ordinal))
                          && sessionStartedTicks <= Interlocked.Read(ref _pgRestartDoneTicks) && Stopwatch.GetTimestamp() >= Interlocked.Read(ref _pgRestartStartedTicks):
                // The session (UNLOGGED) went with the PostgreSQL crash, or its attestation's answer was lost in it.
                Interlocked.Increment(ref _lostInCrash);
                break;
            case 401 when a.Text.Contains("already used", StringComparison.Ordinal):
                // An attest whose answer a killed replica never sent consumed the nonce: start again.
                Interlocked.Increment(ref _netErrors);
                break;
            default:
                Unexpected($"{a.Status} {Title(a.Text)}", a.Text);
                log($"unexpected answer {a.Status}: {a.Text}");
                break;
        }

        return Step.Retry;
    }

    private void Unexpected(string kind, string text)
    {
        Interlocked.Increment(ref _unexpected);
        _unexpectedKinds.AddOrUpdate(kind, 1, (_, n) => n + 1);
        _unexpectedFirst.TryAdd(kind, text.Length > 400 ? text[..400] : text);
    }

    /// <summary>An RFC 7807 body's title (e.g. TooManyRequests), or the start of a body that is not one.</summary>
    private static string Title(string text)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(text);
            if (doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object && doc.RootElement.TryGetProperty("title", out var t))
            {
                return t.GetString() ?? "";
            }
        }
        catch (System.Text.Json.JsonException)
        {
        }

        return text.Length > 40 ? text[..40] : text;
    }

    private async Task AdminWriterAsync(int w, string token, CancellationToken ct)
    {
        var policy = Convert.ToBase64String(Encoding.UTF8.GetBytes("apiVersion: veil.dev/v1\nkind: AttestationPolicy\nmetadata: {name: drill}\nsubmodules:\n  cpu:\n    accept: [sample]\n"))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');
        for (var i = 0; !ct.IsCancellationRequested; i++)
        {
            var replica = Pick(w + i);
            try
            {
                if (i % 5 == 4)
                {
                    var id = $"drill-w{w}-{i}";
                    using var r = await AdminAsync(HttpMethod.Post, replica, "kbs/v0/attestation-policy", Encoding.UTF8.GetBytes($$"""{"policy_id":"{{id}}","policy":"{{policy}}"}"""), token, ct);
                    Classify(r.StatusCode, () => _ackedPolicies[id] = policy);
                }
                else
                {
                    var name = $"drill/w{w}/r{i}";
                    var value = $"admin-{w}-{i}-{Guid.NewGuid():N}";
                    using var r = await AdminAsync(HttpMethod.Post, replica, "kbs/v0/resource/" + name, Encoding.UTF8.GetBytes(value), token, ct);
                    Classify(r.StatusCode, () => _ackedResources[name] = value);
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
                if (ct.IsCancellationRequested)
                {
                    return;
                }

                MarkDown(replica, e);
                Interlocked.Increment(ref _netErrors);
            }

            await Task.Delay(25, CancellationToken.None);
        }
    }

    private void Classify(HttpStatusCode status, Action acknowledged)
    {
        switch ((int)status)
        {
            case 200:
                acknowledged();
                break;
            case 500:
                Interlocked.Increment(ref _h500);
                break;
            case 503:
                Interlocked.Increment(ref _h503);
                break;
            default:
                Unexpected($"admin {(int)status}", "");
                log($"unexpected admin answer {(int)status}");
                break;
        }
    }

    /// <summary>Every acknowledged admin write is in PostgreSQL with its exact value; every release in the audit has its attestation.</summary>
    private async Task<(long Lost, long AuditWithout)> VerifyStoreAsync()
    {
        using var master = MasterKey.Load(dataDir, _ => null);
        await using var conn = new NpgsqlConnection(StoreLocation.Parse(storeUrl, "drill").PostgresConnectionString);
        await conn.OpenAsync();
        long lost = 0;
        foreach (var (name, value) in _ackedResources)
        {
            await using var cmd = new NpgsqlCommand("SELECT sealed_value FROM resources WHERE name = $1;", conn);
            cmd.Parameters.Add(new NpgsqlParameter { Value = name });
            if (await cmd.ExecuteScalarAsync() is not byte[] sealedValue)
            {
                lost++;
                continue;
            }

            using var opened = await master.OpenAsync(sealedValue, name, CancellationToken.None);
            if (Encoding.UTF8.GetString(opened.Span) != value)
            {
                lost++;
            }
        }

        foreach (var (id, _) in _ackedPolicies)
        {
            await using var cmd = new NpgsqlCommand("SELECT COUNT(*) FROM policies WHERE kind = 'attestation' AND id = $1;", conn);
            cmd.Parameters.Add(new NpgsqlParameter { Value = id });
            if ((long)(await cmd.ExecuteScalarAsync())! != 1)
            {
                lost++;
            }
        }

        await using var audit = new NpgsqlCommand(
            "SELECT COUNT(*) FROM audit r WHERE r.action = 'release' AND r.outcome = 'allowed' AND NOT EXISTS " +
            "(SELECT 1 FROM audit a WHERE a.action = 'attest' AND a.outcome = 'allowed' AND a.evidence_digest = r.evidence_digest);", conn);
        return (lost, (long)(await audit.ExecuteScalarAsync())!);
    }

    private sealed record Answer(int Status, byte[] Body, string Text, string? Cookie);

    private async Task<Answer> SendAsync(int replica, HttpMethod method, string path, byte[]? body, string? cookie, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, new Uri($"http://127.0.0.1:{_ports[replica]}/{path}"));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }

        try
        {
            using var r = await _http.SendAsync(request, ct);
            var bytes = await r.Content.ReadAsByteArrayAsync(ct);
            var setCookie = r.Headers.TryGetValues("Set-Cookie", out var values) ? values.First().Split(';')[0] : null;
            return new Answer((int)r.StatusCode, bytes, Encoding.UTF8.GetString(bytes), setCookie ?? cookie);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException && !ct.IsCancellationRequested)
        {
            MarkDown(replica, e);
            return new Answer(0, [], e.GetType().Name, null);
        }
    }

    private Task<HttpResponseMessage> AdminAsync(HttpMethod method, int replica, string path, byte[] body, string token, CancellationToken ct)
    {
        var request = new HttpRequestMessage(method, new Uri($"http://127.0.0.1:{_ports[replica]}/{path}")) { Content = new ByteArrayContent(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return _http.SendAsync(request, ct);
    }

    /// <summary>The load balancer's view: a replica that refused a connection gets no traffic for a second.</summary>
    private void MarkDown(int replica, Exception e)
    {
        if (e is HttpRequestException { InnerException: SocketException })
        {
            _downUntil[replica] = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
        }
    }

    private int Pick(int slot)
    {
        var n = _ports.Length;
        for (var i = 0; i < n; i++)
        {
            var r = (slot + i) % n;
            if (!_downUntil.TryGetValue(r, out var until) || Stopwatch.GetTimestamp() >= until)
            {
                return r;
            }
        }

        return slot % n;
    }

    private static async Task UntilAsync(Func<bool> condition, CancellationToken ct)
    {
        while (!condition())
        {
            await Task.Delay(20, ct);
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
