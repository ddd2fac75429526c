using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Veil.Bench.BrokerHandshake;
using Veil.Broker;
using Veil.Broker.Hosting;
using Veil.Broker.Keys;
using Veil.Broker.Storage;
using Veil.Broker.Tests.Drills;
using Veil.Broker.Verification;
using Veil.Protocol.Client;
using Veil.Protocol.Messages;

// host <data-dir> <evidence.json> <sqlite|postgresql://…>: a broker (real SNP verification, strict policy) on
//   127.0.0.1; prints "url=<url>" and serves until stdin closes.
// load <url[,url…]> <evidence.json> <seconds> <concurrency>: closed loop of full handshakes whose three requests go
//   to successive replicas; prints "handshakes_per_s=".
// rate <url[,url…]> <evidence.json> <seconds> <per-second>: open loop at a fixed rate; prints p50/p99 latency in ms.
// drill <veil.dll> <data-dir> <store-url> <pg-dir> <guests> <handshakes> <fault-rounds> <minutes>: the fault drill.
// (broker-handshake's host and load loops, with a store and several replicas; kept apart so that work on that
// benchmark's single-broker figures does not move these.)
var mode = args.Length > 0 ? args[0] : "";
switch (mode)
{
    case "host":
        return await HostAsync(args[1], args[2], args[3]);
    case "load":
        return await LoadAsync(Urls(args[1]), args[2], Int(args[3]), Int(args[4]));
    case "rate":
        return await RateAsync(Urls(args[1]), args[2], Int(args[3]), double.Parse(args[4], CultureInfo.InvariantCulture));
    case "drill":
        return await DrillAsync(args);
    default:
        Console.Error.WriteLine("usage: BrokerReplicasBench host <data-dir> <evidence.json> <store> | load <urls> <evidence.json> <seconds> <concurrency> | rate <urls> <evidence.json> <seconds> <per-second> | drill …");
        return 2;
}

static int Int(string s) => int.Parse(s, CultureInfo.InvariantCulture);

static Uri[] Urls(string s) => s.Split(',').Select(u => new Uri(u)).ToArray();

static async Task<int> HostAsync(string dataDir, string evidencePath, string store)
{
    Directory.CreateDirectory(dataDir);
    if (!File.Exists(Path.Combine(dataDir, "master.key")))
    {
        BrokerInit.Run(dataDir, TimeSpan.FromDays(1), TimeProvider.System);
    }

    using var evidence = JsonDocument.Parse(File.ReadAllText(evidencePath));
    var reportData = evidence.RootElement.GetProperty("attestation_report").GetProperty("report_data").EnumerateArray().Select(e => e.GetByte()).ToArray();
    var tcb = evidence.RootElement.GetProperty("attestation_report").GetProperty("reported_tcb");
    var options = new BrokerOptions
    {
        DataDir = dataDir,
        Store = StoreLocation.Parse(store, "store"),
        Urls = ["http://127.0.0.1:0"],
        PolicyParameters = new Dictionary<string, string>
        {
            ["snp_min_bootloader"] = tcb.GetProperty("bootloader").GetRawText(),
            ["snp_min_tee"] = tcb.GetProperty("tee").GetRawText(),
            ["snp_min_snp"] = tcb.GetProperty("snp").GetRawText(),
            ["snp_min_microcode"] = tcb.GetProperty("microcode").GetRawText(),
        },
        // The load generator is one client (127.0.0.1): the per-client limits (20 handshakes/s, 128 pending sessions)
        // would turn the measurement into one of the rate limiter. Lifted, as behind a proxy; the limiter stays in the path.
        MaxSessions = 1_000_000,
        MaxSessionsPerClient = 1_000_000,
        RateLimits = new(Veil.Broker.Limits.RateLimitSettings.Max, Veil.Broker.Limits.RateLimitSettings.Max, Veil.Broker.Limits.RateLimitSettings.Max),
    };
    await using var host = await BrokerHost.StartAsync(options, b =>
    {
        b.Logging.ClearProviders();
        b.Services.AddSingleton<IReportDataBindingService>(new BenchBinding(reportData));
    }, Environment.GetEnvironmentVariable, CancellationToken.None);

    using (var admin = new HttpClient { BaseAddress = host.Addresses[0] })
    {
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", File.ReadAllText(Path.Combine(dataDir, "admin.token")).Trim());
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes("bench-model-key-0123456789abcdef"));
        using var r = await admin.PostAsync(new Uri("kbs/v0/resource/default/model/key", UriKind.Relative), content);
        r.EnsureSuccessStatusCode();
    }

    Console.WriteLine("url=" + host.Addresses[0]);
    Console.Out.Flush();
    await Console.In.ReadToEndAsync();
    return 0;
}

static async Task<TimeSpan> HandshakeAsync(HttpClient http, JsonElement evidence, TeeKey key)
{
    var started = Stopwatch.GetTimestamp();
    var client = new KbsClient(http);
    var challenge = await client.AuthAsync("snp");
    await client.AttestAsync(new KbsAttestation(new RuntimeData(challenge.Nonce, key.PublicJson), new TeeEvidence(evidence, "")));
    var value = key.Decrypt(await client.GetResourceAsync("default/model/key"));
    if (value.Length != 32)
    {
        throw new InvalidOperationException("resource did not decrypt to the stored value");
    }

    return Stopwatch.GetElapsedTime(started);
}

static JsonElement Evidence(string path)
{
    using var doc = JsonDocument.Parse(File.ReadAllText(path));
    return doc.RootElement.Clone();
}

static HttpClient Client(Uri[] urls) => urls.Length == 1
    ? KbsClient.CreateHttpClient(urls[0])
    : new HttpClient(new RoundRobin(urls) { InnerHandler = new HttpClientHandler { CookieContainer = new System.Net.CookieContainer(), UseCookies = true } }) { BaseAddress = urls[0] };

static async Task<int> LoadAsync(Uri[] urls, string evidencePath, int seconds, int concurrency)
{
    var evidence = Evidence(evidencePath);
    using var key = TeeKey.CreateEc();
    var clients = Enumerable.Range(0, concurrency).Select(_ => Client(urls)).ToList();
    for (var i = 0; i < 20; i++)
    {
        await HandshakeAsync(clients[0], evidence, key);
    }

    var count = 0L;
    var stopAt = Stopwatch.GetTimestamp() + (seconds * Stopwatch.Frequency);
    var started = Stopwatch.GetTimestamp();
    await Task.WhenAll(clients.Select(async http =>
    {
        while (Stopwatch.GetTimestamp() < stopAt)
        {
            await HandshakeAsync(http, evidence, key);
            Interlocked.Increment(ref count);
        }
    }));
    var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"handshakes={count} seconds={elapsed:F2}"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"handshakes_per_s={count / elapsed:F1}"));
    return 0;
}

static async Task<int> RateAsync(Uri[] urls, string evidencePath, int seconds, double perSecond)
{
    var evidence = Evidence(evidencePath);
    using var key = TeeKey.CreateEc();
    var pool = new System.Collections.Concurrent.ConcurrentBag<HttpClient>();
    var first = Client(urls);
    for (var i = 0; i < 20; i++)
    {
        await HandshakeAsync(first, evidence, key);
    }

    pool.Add(first);
    var before = await BrokerSideAsync(urls);
    var total = (int)(seconds * perSecond);
    var latencies = new double[total];
    var start = Stopwatch.GetTimestamp();
    var tasks = new List<Task>(total);
    for (var i = 0; i < total; i++)
    {
        var due = start + (long)(i / perSecond * Stopwatch.Frequency);
        var wait = due - Stopwatch.GetTimestamp();
        if (wait > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency));
        }

        var index = i;
        tasks.Add(Task.Run(async () =>
        {
            var http = pool.TryTake(out var c) ? c : Client(urls);
            await HandshakeAsync(http, evidence, key);
            pool.Add(http);
            latencies[index] = Stopwatch.GetElapsedTime(due).TotalMilliseconds;
        }));
    }

    await Task.WhenAll(tasks);
    Array.Sort(latencies);
    double Pct(double p) => latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(p * latencies.Length) - 1)];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rate_per_s={perSecond:F1} handshakes={total} p50_ms={Pct(0.50):F2} p99_ms={Pct(0.99):F2}"));
    var after = await BrokerSideAsync(urls);
    string[] endpoints = ["auth", "attest", "resource"];
    string Over(string le) => string.Join(",", endpoints.Select(e =>
        string.Create(CultureInfo.InvariantCulture, $"{e}:{after.GetValueOrDefault((e, "+Inf")) - before.GetValueOrDefault((e, "+Inf")) - (after.GetValueOrDefault((e, le)) - before.GetValueOrDefault((e, le))):F0}")));
    Console.WriteLine($"broker_side_over_10ms={Over("0.01")} broker_side_over_25ms={Over("0.025")}");
    return 0;
}

// The brokers' own request-duration histograms (veil_http_request_duration_seconds on /metrics, summed over the
// replicas): tells the time a request spent in the broker from what the client adds (its own core's queueing).
static async Task<Dictionary<(string Endpoint, string Le), double>> BrokerSideAsync(Uri[] urls)
{
    const string Prefix = "veil_http_request_duration_seconds_bucket{endpoint=\"";
    var sums = new Dictionary<(string, string), double>();
    using var http = new HttpClient();
    foreach (var url in urls)
    {
        foreach (var line in (await http.GetStringAsync(new Uri(url, "metrics"))).Split('\n'))
        {
            if (!line.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var endpoint = line[Prefix.Length..line.IndexOf('"', Prefix.Length)];
            var le = line[(line.IndexOf("le=\"", StringComparison.Ordinal) + 4)..line.LastIndexOf('"')];
            var count = double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            sums[(endpoint, le)] = sums.GetValueOrDefault((endpoint, le)) + count;
        }
    }

    return sums;
}

static async Task<int> DrillAsync(string[] a)
{
    var (veilDll, dataDir, storeUrl, pgDir) = (a[1], a[2], a[3], a[4]);
    if (!File.Exists(Path.Combine(dataDir, "master.key")))
    {
        BrokerInit.Run(dataDir, TimeSpan.FromDays(1), TimeProvider.System);
    }

    var scripts = Path.Combine(AppContext.GetData("VeilRepoRoot") as string ?? Directory.GetCurrentDirectory(), "scripts", "postgres");
    void Restart(string how)
    {
        using var p = Process.Start(new ProcessStartInfo(scripts) { ArgumentList = { "restart", pgDir, how } })!;
        p.WaitForExit();
    }

    var drill = new ReplicaFaultDrill(veilDll, dataDir, storeUrl, Restart, line =>
    {
        if (line.Contains("HTTP 500", StringComparison.Ordinal) || line.Contains("unexpected", StringComparison.Ordinal))
        {
            Console.Error.WriteLine(line);
        }
    });
    var report = await drill.RunAsync(
        new DrillOptions { Guests = Int(a[5]), HandshakesPerGuest = Int(a[6]), FaultRounds = Int(a[7]), Deadline = TimeSpan.FromMinutes(Int(a[8])) },
        CancellationToken.None);
    Console.WriteLine(report.Summary);
    foreach (var f in report.Failures)
    {
        Console.WriteLine("FAILED: " + f);
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"guests_done_fraction={(report.Failures.Count == 0 ? 1.0 * report.GuestsDone / report.Guests : 0):F3}"));
    return report.Failures.Count == 0 ? 0 : 1;
}

/// <summary>Each request to the next replica in turn (a load balancer without affinity); cookies kept below it.</summary>
internal sealed class RoundRobin(Uri[] replicas) : DelegatingHandler
{
    private int _next;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var target = replicas[(int)((uint)Interlocked.Increment(ref _next) % (uint)replicas.Length)];
        request.RequestUri = new Uri(target, request.RequestUri!.PathAndQuery);
        return base.SendAsync(request, cancellationToken);
    }
}
