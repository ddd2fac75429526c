using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Veil.Broker.Hosting;
using Veil.Broker.Keys;
using Veil.Broker.Verification;

namespace Veil.Broker.Tests.Support;

/// <summary>A real broker (Kestrel on 127.0.0.1, random port) over a fresh data directory.</summary>
internal sealed class TestBroker : IAsyncDisposable
{
    private readonly BrokerHost _host;
    private readonly List<System.Net.CookieContainer> _cookieJars = [];

    private int _disposed;

    private TestBroker(BrokerHost host, string dataDir, string adminToken)
    {
        _host = host;
        DataDir = dataDir;
        AdminToken = adminToken;
        Url = host.Addresses[0];
    }

    public Uri Url { get; }

    public string DataDir { get; }

    public string AdminToken { get; }

    /// <summary>The broker's services: unit tests call the attest and release flows directly.</summary>
    public IServiceProvider Services => _host.Services;

    public static async Task<TestBroker> StartAsync(
        bool allowSample = true,
        IReportDataBindingService? binding = null,
        TimeProvider? time = null,
        string? dataDir = null,
        Func<BrokerOptions, BrokerOptions>? configure = null,
        Action<WebApplicationBuilder>? customize = null)
    {
        var fresh = dataDir is null;
        dataDir ??= Directory.CreateTempSubdirectory("veil-broker-").FullName;
        if (fresh)
        {
            BrokerInit.Run(dataDir, TimeSpan.FromDays(1), TimeProvider.System);
            RegisterKeyFiles(dataDir);
        }

        var options = new BrokerOptions { DataDir = dataDir, Urls = ["http://127.0.0.1:0"], AllowSample = allowSample };
        // A sample-allowing test broker appraises with the shipped sample policy; otherwise strict, with SNP TCB
        // minimums equal to the reported TCB of Trustee's SNP vector (bootloader 10, tee 0, snp 23, microcode 25).
        options = allowSample
            ? options with { Policy = "sample" }
            : options with { PolicyParameters = StrictMinimumsOfTrusteeVector };
        // The suite drives thousands of handshakes from 127.0.0.1: the per-client caps and rates are lifted unless a
        // test sets them (HostileClientTests and SessionAndRateLimitTests check them at their defaults and below).
        options = options with { MaxSessionsPerClient = 1_000_000, MaxSessions = 1_000_000, RateLimits = new(1_000_000, 1_000_000, 1_000_000) };
        options = configure?.Invoke(options) ?? options;
        var host = await BrokerHost.StartAsync(options, builder =>
        {
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Trace);
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Trace); // the log scan reads everything
            builder.Logging.AddProvider(LogCapture.Shared);
            if (time is not null)
            {
                builder.Services.AddSingleton(time);
            }

            if (binding is not null)
            {
                builder.Services.AddSingleton(binding);
            }

            customize?.Invoke(builder);
        }, _ => null, CancellationToken.None);
        var adminToken = File.ReadAllText(Path.Combine(dataDir, BrokerKeys.AdminTokenFile)).Trim();
        var broker = new TestBroker(host, dataDir, adminToken);
        await broker.UntilFollowingChangesAsync();
        return broker;
    }

    /// <summary>
    /// A broker on PostgreSQL subscribes to configuration changes in the background after its start (it says not ready
    /// until then). Tests that write configuration behind a replica's back, or probe readiness, must not race that
    /// subscription on a loaded machine, so a test broker counts as started once it follows changes.
    /// </summary>
    private async Task UntilFollowingChangesAsync()
    {
        if (_host.Services.GetService<Veil.Broker.Appraisal.PolicySync>() is not { } sync)
        {
            return;
        }

        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!sync.Listening)
        {
            if (waited.Elapsed > TimeSpan.FromSeconds(30))
            {
                await DisposeAsync();
                throw new TimeoutException("the test broker did not subscribe to configuration changes within 30 s of its start");
            }

            await Task.Delay(10);
        }
    }

    public static IReadOnlyDictionary<string, string> StrictMinimumsOfTrusteeVector { get; } = new Dictionary<string, string>
    {
        ["snp_min_bootloader"] = "10",
        ["snp_min_tee"] = "0",
        ["snp_min_snp"] = "23",
        ["snp_min_microcode"] = "25",
    };

    public static void RegisterKeyFiles(string dataDir)
    {
        foreach (var f in new[] { "master.key", BrokerKeys.TokenSigningKeyFile, BrokerKeys.AdminPrivateKeyFile, BrokerKeys.AdminTokenFile })
        {
            foreach (var line in File.ReadAllLines(Path.Combine(dataDir, f)).Where(l => !l.StartsWith("-----", StringComparison.Ordinal)))
            {
                SecretLedger.Add(f, line.Trim());
            }
        }
    }

    public HttpClient NewHttpClient()
    {
        var cookies = new System.Net.CookieContainer();
        lock (_cookieJars)
        {
            _cookieJars.Add(cookies);
        }

        return new HttpClient(new HttpClientHandler { CookieContainer = cookies, UseCookies = true }) { BaseAddress = Url };
    }

    public HttpClient NewAdminClient(string? token = null)
    {
        var c = NewHttpClient();
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token ?? AdminToken);
        return c;
    }

    public async Task PutResourceAsync(string path, byte[] value)
    {
        SecretLedger.AddBytes("resource " + path, value);
        using var admin = NewAdminClient();
        using var content = new ByteArrayContent(value);
        using var r = await admin.PostAsync(new Uri("kbs/v0/resource/" + path, UriKind.Relative), content);
        r.EnsureSuccessStatusCode();
    }

    /// <summary>Stops the broker once; later calls do nothing (a test that restarts on the same data directory stops it early).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        lock (_cookieJars)
        {
            foreach (var jar in _cookieJars)
            {
                foreach (System.Net.Cookie c in jar.GetAllCookies())
                {
                    SecretLedger.Add("session id", c.Value);
                }
            }
        }

        await _host.DisposeAsync();
    }
}
