using System.Diagnostics;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Veil.Attestation.Nvidia;
using Veil.Attestation.Verification;
using Veil.Broker.Admin;
using Veil.Broker.Appraisal;
using Veil.Broker.Audit;
using Veil.Broker.Endpoints;
using Veil.Broker.KeyWrapping;
using Veil.Broker.Keys;
using Veil.Broker.Limits;
using Veil.Broker.Metrics;
using Veil.Broker.Problems;
using Veil.Broker.Rcar;
using Veil.Broker.Secrets;
using Veil.Broker.Storage;
using Veil.Broker.Verification;

namespace Veil.Broker.Hosting;

/// <summary>A running broker: Kestrel with the KBS, admin and ops endpoints over one data directory.</summary>
public sealed class BrokerHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly IAsyncDisposable? _store;
    private readonly DataDirectoryLock? _owner;

    private BrokerHost(WebApplication app, IReadOnlyList<Uri> addresses, string startupLine, IAsyncDisposable? store, DataDirectoryLock? owner)
    {
        StartupLine = startupLine;
        _app = app;
        Addresses = addresses;
        _store = store;
        _owner = owner;
    }

    /// <summary>The bound addresses (with the real port when 0 was asked for).</summary>
    public IReadOnlyList<Uri> Addresses { get; }

    /// <summary>
    /// The one start-up line ("veil broker listening on …"). The CLI prints it; the host does not also log it, so
    /// an operator's console and container log show it once, not once plain and once as a log entry.
    /// </summary>
    public string StartupLine { get; }

    /// <summary>The running broker's services (tests drive the flows through them).</summary>
    internal IServiceProvider Services => _app.Services;

    public static Task<BrokerHost> StartAsync(BrokerOptions options, CancellationToken ct) => StartAsync(options, null, Environment.GetEnvironmentVariable, ct);

    /// <summary>
    /// <paramref name="customize"/> runs after the defaults are registered: tests and the benchmark host use it to
    /// replace the clock, the log sink or the report-data binding. It is internal on purpose.
    /// </summary>
    internal static async Task<BrokerHost> StartAsync(BrokerOptions options, Action<WebApplicationBuilder>? customize, Func<string, string?> environment, CancellationToken ct)
    {
        var listen = ListenRules.Check(options);
        DataDirectory.Check(options.DataDir, create: options.Store.IsPostgres);
        // PostgreSQL replicas share state through the database (and may share a data directory of keys); a SQLite
        // broker owns its directory for as long as it serves.
        var owner = options.Store.IsPostgres ? null : DataDirectoryLock.Acquire(options.DataDir);
        try
        {
            return await StartOwnedAsync(options, listen, owner, customize, environment, ct).ConfigureAwait(false);
        }
        catch
        {
            owner?.Dispose();
            throw;
        }
    }

    private static async Task<BrokerHost> StartOwnedAsync(
        BrokerOptions options, IReadOnlyList<ListenAddress> listen, DataDirectoryLock? owner, Action<WebApplicationBuilder>? customize, Func<string, string?> environment, CancellationToken ct)
    {
        var masterKey = MasterKey.Load(options.DataDir, environment, options.Store.IsPostgres, options.MasterKey, options.PreviousMasterKeys);
        var keys = BrokerKeys.Load(options.DataDir, options.AdminPublicKeyPaths, environment, sharedStore: options.Store.IsPostgres);
        var roleBindings = RoleBindings.Parse(options.AdminRoles, "admin-roles");
        var oidc = OidcSettings.From(options);
        PostgresBrokerStore? postgres = null;
        IBrokerStore store;
        ISessionBackend sessionBackend;
        if (options.Store.IsPostgres)
        {
            postgres = await PostgresBrokerStore.OpenAsync(options.Store, ct, options.StoreStartupWait).ConfigureAwait(false);
            store = postgres;
            sessionBackend = new PostgresSessionBackend(postgres);
        }
        else
        {
            store = await SqliteBrokerStore.OpenAsync(options.DataDir, ct).ConfigureAwait(false);
            sessionBackend = new InMemorySessionBackend();
        }

        BrokerPolicies policies;
        try
        {
            policies = await BrokerPolicies.LoadAsync(options, store, TimeProvider.System, ct).ConfigureAwait(false);
        }
        catch (StoreUnavailableException e)
        {
            throw new BrokerConfigurationException($"store {options.Store.Display}: cannot read the policies ({e.Message})");
        }
        await RoleBindingsHistory.RecordAsync(store, roleBindings, TimeProvider.System, ct).ConfigureAwait(false);
        X509Certificate2? certificate = null;
        if (listen.Any(l => l.Scheme == "https"))
        {
            try
            {
                certificate = X509Certificate2.CreateFromPemFile(options.TlsCertificatePath!, options.TlsKeyPath);
            }
            catch (Exception e) when (e is IOException or System.Security.Cryptography.CryptographicException or UnauthorizedAccessException)
            {
                throw new BrokerConfigurationException($"--tls-cert/--tls-key: cannot load the certificate and key ({e.GetType().Name})");
            }
        }

        NativeHeap.BoundArenas(environment);
        EnsureWorkerThreads();
        var builder = WebApplication.CreateSlimBuilder();
        // Per-request framework chatter stays out of production logs; the audit lines say what happened.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // "Now listening on" and "Application started" repeat the start-up line the CLI prints.
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        // Kestrel logs each bad request with its exception (a stack trace) at Debug; BadRequests logs one line instead.
        // The more specific category wins over any later "Microsoft.AspNetCore" rule.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Server.Kestrel.BadRequests", LogLevel.None);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = HttpBodies.MaxBytes;
            // The plaintext pipe behind TLS reads ahead up to this much; the socket's own pipe is bounded below.
            k.Limits.MaxRequestBufferSize = RequestReadAheadBytes;
            foreach (var l in listen)
            {
                void Configure(Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions o)
                {
                    if (l.Scheme == "https")
                    {
                        o.UseHttps(certificate!);
                    }
                }

                if (l.Host == "localhost")
                {
                    k.ListenLocalhost(l.Port, Configure);
                }
                else
                {
                    k.Listen(l.Address!, l.Port, Configure);
                }
            }
        });

        // The socket transport reads ahead of the handler up to 1 MiB per connection by default, in blocks of Kestrel's
        // pinned pool, and the pool keeps its peak while the broker is busy (it evicts only when idle): eight clients
        // pushing megabyte bodies that /auth refuses by Content-Length held 8 MiB of pool, a 10 MB chunked body 6 MiB
        // more (the soak's aspnetcore.memory_pool.pooled). Bodies still stream with backpressure; only read-ahead shrinks.
        builder.WebHost.UseSockets(o => o.MaxReadBufferSize = RequestReadAheadBytes);
        var s = builder.Services;
        s.AddSingleton(options);
        s.AddSingleton(TimeProvider.System);
        s.AddSingleton(_ => masterKey); // from a factory, so the host disposes it (a PKCS#11 session ends with the broker)
        s.AddSingleton(keys);
        s.AddSingleton(roleBindings);
        s.AddSingleton(sp => new AdminAuthenticator(keys, options, roleBindings, sp.GetRequiredService<TimeProvider>(), oidc,
            oidc is null ? null : new OidcKeys(oidc, OidcHttp, sp.GetRequiredService<TimeProvider>())));
        s.AddSingleton<IBrokerStore>(store);
        s.AddSingleton(sp => new SessionStore(sp.GetRequiredService<TimeProvider>(), options.SessionTimeout, new SessionLimits(options.MaxSessions, options.MaxSessionsPerClient), sessionBackend));
        if (postgres is not null)
        {
            s.AddSingleton(postgres);
            s.AddSingleton<PolicySync>();
            s.AddHostedService(sp => sp.GetRequiredService<PolicySync>());
        }

        s.AddSingleton(sp => new StoreReadiness(store, sp.GetService<PolicySync>(), sp.GetRequiredService<TimeProvider>()));
        s.AddSingleton(sp => new TokenService(sp.GetRequiredService<BrokerKeys>(), sp.GetRequiredService<TimeProvider>(), options.TokenLifetime));
        s.AddSingleton<BrokerMetrics>();
        s.AddSingleton<AuditLog>();
        s.AddSingleton<AuditRetention>();
        s.AddHostedService(sp => sp.GetRequiredService<AuditRetention>());
        s.AddRateLimiter(o => RateLimits.Configure(o, options.RateLimits));
        var collateral = Collateral(options);
        s.AddSingleton(sp => new EvidenceVerifiers(new EvidenceVerifierFactory(collateral(sp.GetRequiredService<TimeProvider>()))));
        s.AddSingleton<DeviceEvidence>();
        s.AddSingleton<IReportDataBindingService, KbsReportDataBinding>();
        s.AddSingleton(policies);
        // The attest and release flows: endpoints only map their outcomes to HTTP.
        s.AddSingleton<Flow.AttestationFlow>();
        s.AddSingleton<Flow.ReleaseFlow>();
        customize?.Invoke(builder);

        var app = builder.Build();
        policies.UseClock(app.Services.GetRequiredService<TimeProvider>());

        // The last line of defence: a failure no endpoint expected answers a problem naming the request's trace id
        // (the middleware logs the cause under it) instead of an empty 500; nothing is released either way.
        app.UseExceptionHandler(errors => errors.Run(http => KbsProblem.Create(
            StatusCodes.Status500InternalServerError, "InternalError",
            $"the broker could not handle this request; its log holds the cause under trace id {http.TraceIdentifier}").ExecuteAsync(http)));
        app.Use(BadRequests.HandleAsync);
        app.Use(async (http, next) =>
        {
            var raw = http.Features.Get<IHttpRequestFeature>()?.RawTarget ?? http.Request.Path.Value ?? "";
            if (ResourcePath.CheckRawTarget(raw) is { } refusal)
            {
                await KbsProblem.BadRequest("InvalidResourcePath", refusal).ExecuteAsync(http).ConfigureAwait(false);
                return;
            }

            var started = Stopwatch.GetTimestamp();
            try
            {
                await next(http).ConfigureAwait(false);
            }
            catch (Exception e) when (StoreUnavailableException.IsIn(e) && !http.Response.HasStarted)
            {
                // The store did not answer: the outcome is unknown, so the answer is "retry", never a release and
                // never a 500. The log names the failure kind only (never the connection string).
                StoreFaultLog.Failed(app.Logger, EndpointNames.Of(http.Request), FirstStoreFault(e));
                http.Response.Clear();
                await StoreProblems.RequestFailed().ExecuteAsync(http).ConfigureAwait(false);
            }

            catch (KeyBackendUnavailableException e) when (!http.Response.HasStarted)
            {
                // An admin write whose data key the token could not wrap: nothing was stored.
                http.Response.Clear();
                await KeyProblems.Unavailable(e.Message).ExecuteAsync(http).ConfigureAwait(false);
            }

            var metrics = http.RequestServices.GetRequiredService<BrokerMetrics>();
            metrics.RequestDuration(EndpointNames.Of(http.Request), Stopwatch.GetElapsedTime(started).TotalSeconds);
        });
        app.UseRateLimiter();
        KbsEndpoints.Map(app);
        AdminEndpoints.Map(app);
        OpsEndpoints.Map(app);
        app.MapFallback(() => KbsProblem.Create(StatusCodes.Status404NotFound, "InvalidRequest", "no such endpoint"));

        // Force the singletons that must exist before the first request.
        app.Services.GetRequiredService<BrokerMetrics>();
        await app.StartAsync(ct).ConfigureAwait(false);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(a => new Uri(a.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal))).ToList();
        // The store is shown without its password (Display); one line, printed by the CLI, not logged a second time.
        var startupLine = $"veil broker listening on {string.Join(" ", addresses)} (store {options.Store.Display}; sample TEE {(options.AllowSample ? "ALLOWED" : "refused")}; " +
            $"attestation policy {options.Policy}; resource policy {policies.ResourcePolicy.File})";
        return new BrokerHost(app, addresses, startupLine, postgres, owner);
    }

    /// <summary>Per-connection read-ahead: see the Kestrel limits in <see cref="StartAsync(BrokerOptions, Action{WebApplicationBuilder}?, Func{string, string?}, CancellationToken)"/>.</summary>
    internal const int RequestReadAheadBytes = 64 * 1024;

    /// <summary>Worker threads the pool keeps ready: see <see cref="EnsureWorkerThreads"/>.</summary>
    internal const int MinWorkerThreads = 32;

    /// <summary>
    /// Microsoft.Data.Sqlite's async methods run synchronously, so every store call (session, audit, resource) holds a
    /// pool thread while SQLite works and fsyncs. With the default minimum (one thread per core, two here) a burst of
    /// requests blocks them all and the pool adds threads at about one per second: measured as p99 945 ms at half load
    /// on SQLite and 4.3 s on PostgreSQL (p50 9 and 47 ms), and 20 ms and 38 ms with 32 threads kept ready
    /// (bench/RESULTS.md, broker-handshake and broker-replicas). Never lowers a larger setting.
    /// </summary>
    internal static void EnsureWorkerThreads()
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        if (workers < MinWorkerThreads)
        {
            ThreadPool.SetMinThreads(MinWorkerThreads, io);
        }
    }

    public Task WaitForShutdownAsync(CancellationToken ct) => _app.WaitForShutdownAsync(ct);

    /// <summary>
    /// The broker's collateral settings as Veil.Attestation's options: offline directories, the vendors' services
    /// cached below DATA_DIR/collateral, the VCEK/VLEK the evidence carries. Directories are checked here so that a
    /// typo fails the start, not the first guest.
    /// </summary>
    private static Func<TimeProvider, CollateralOptions> Collateral(BrokerOptions options)
    {
        foreach (var (dir, flag) in new[] { (options.SnpCollateralDir, "--snp-collateral-dir"), (options.TdxCollateralDir, "--tdx-collateral-dir"), (options.NvidiaCollateralDir, "--nvidia-collateral-dir") })
        {
            if (dir is not null && !Directory.Exists(dir))
            {
                throw new BrokerConfigurationException($"{flag}: directory not found: {dir}");
            }
        }

        return time => new CollateralOptions
        {
            Time = time,
            Http = SharedHttp,
            AllowSample = options.AllowSample,
            SnpCollateralDir = options.SnpCollateralDir,
            KdsUrl = options.KdsUrl,
            TdxCollateralDir = options.TdxCollateralDir,
            PcsUrl = options.PcsUrl,
            NvidiaCollateralDir = options.NvidiaCollateralDir,
            RimServiceUrl = options.NvidiaRimServiceUrl,
            OcspResponder = options.NvidiaRimServiceUrl is null ? null : NvidiaServiceCollateral.DefaultOcspResponder,
            CacheRoot = Path.Combine(options.DataDir, "collateral"),
        };
    }

    private static readonly HttpClient SharedHttp = new() { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>For the OIDC issuer's discovery document and JWKS: short timeout, small answers only.</summary>
    private static readonly HttpClient OidcHttp = new() { Timeout = TimeSpan.FromSeconds(10), MaxResponseContentBufferSize = 1 << 20 };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        if (_store is not null)
        {
            await _store.DisposeAsync().ConfigureAwait(false);
        }

        // Last: the directory is free only once nothing of this broker writes to it any more.
        _owner?.Dispose();
    }

    private static string FirstStoreFault(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            if (x is StoreUnavailableException)
            {
                return x.Message;
            }
        }

        return e.GetType().Name;
    }
}
