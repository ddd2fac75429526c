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
using Veil.Broker.Verification;
using Veil.Protocol.Client;
using Veil.Protocol.Messages;

// host <data-dir> <evidence.json>: a real broker on 127.0.0.1 (random port) expecting the vector's report data;
//   prints "url=<url>" and serves until stdin closes.
// load <url> <evidence.json> <seconds> <concurrency>: closed loop of full handshakes; prints "handshakes_per_s=".
// rate <url> <evidence.json> <seconds> <per-second>: open loop at a fixed rate; prints p50/p99 latency in ms.
var mode = args.Length > 0 ? args[0] : "";
switch (mode)
{
    case "host":
        return await HostAsync(args[1], args[2]);
    case "floor-host":
        return await FloorHost.RunAsync(args[1], args[2..]);
    case "crypto":
        return CryptoCeiling.Run(args[1], int.Parse(args[2], CultureInfo.InvariantCulture));
    case "load":
        return await LoadAsync(new Uri(args[1]), args[2], int.Parse(args[3], CultureInfo.InvariantCulture), int.Parse(args[4], CultureInfo.InvariantCulture));
    case "rate":
        return await RateAsync(new Uri(args[1]), args[2], int.Parse(args[3], CultureInfo.InvariantCulture), double.Parse(args[4], CultureInfo.InvariantCulture));
    default:
        Console.Error.WriteLine("usage: BrokerHandshakeBench host <data-dir> <evidence.json> | load <url> <evidence.json> <seconds> <concurrency> | rate <url> <evidence.json> <seconds> <per-second>");
        return 2;
}

static async Task<int> HostAsync(string dataDir, string evidencePath)
{
    if (!File.Exists(Path.Combine(dataDir, "master.key")))
    {
        BrokerInit.Run(dataDir, TimeSpan.FromDays(1), TimeProvider.System);
    }

    using var evidence = JsonDocument.Parse(File.ReadAllText(evidencePath));
    var reportData = evidence.RootElement.GetProperty("attestation_report").GetProperty("report_data").EnumerateArray().Select(e => e.GetByte()).ToArray();
    // Appraised with the shipped strict policy, its SNP TCB minimums set to the vector's reported TCB, as an
    // operator would: every handshake pays for the real appraisal and the release decision.
    var tcb = evidence.RootElement.GetProperty("attestation_report").GetProperty("reported_tcb");
    var options = new BrokerOptions
    {
        DataDir = dataDir,
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

// One client per concurrent handshake, reused for the next one like a guest's long-lived KBS client: the
// connection stays open and the next /auth replaces the session cookie.
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

static async Task<int> LoadAsync(Uri url, string evidencePath, int seconds, int concurrency)
{
    var evidence = Evidence(evidencePath);
    using var key = TeeKey.CreateEc();
    var clients = Enumerable.Range(0, concurrency).Select(_ => KbsClient.CreateHttpClient(url)).ToList();
    for (var i = 0; i < 20; i++)
    {
        await HandshakeAsync(clients[0], evidence, key); // warm-up (JIT on both sides)
    }

    var count = 0L;
    var stopAt = Stopwatch.GetTimestamp() + (seconds * Stopwatch.Frequency);
    var started = Stopwatch.GetTimestamp();
    var workers = clients.Select(async http =>
    {
        while (Stopwatch.GetTimestamp() < stopAt)
        {
            await HandshakeAsync(http, evidence, key);
            Interlocked.Increment(ref count);
        }
    }).ToList();
    await Task.WhenAll(workers);
    var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"handshakes={count} seconds={elapsed:F2}"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"handshakes_per_s={count / elapsed:F1}"));
    return 0;
}

static async Task<int> RateAsync(Uri url, string evidencePath, int seconds, double perSecond)
{
    var evidence = Evidence(evidencePath);
    using var key = TeeKey.CreateEc();
    var pool = new System.Collections.Concurrent.ConcurrentBag<HttpClient>();
    var first = KbsClient.CreateHttpClient(url);
    for (var i = 0; i < 20; i++)
    {
        await HandshakeAsync(first, evidence, key);
    }

    pool.Add(first);
    var total = (int)(seconds * perSecond);
    var latencies = new double[total];
    var start = Stopwatch.GetTimestamp();
    var tasks = new List<Task>(total);
    for (var i = 0; i < total; i++)
    {
        // Open loop: handshake i starts at its scheduled time whatever the earlier ones are doing.
        var due = start + (long)(i / perSecond * Stopwatch.Frequency);
        var wait = due - Stopwatch.GetTimestamp();
        if (wait > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency));
        }

        var index = i;
        tasks.Add(Task.Run(async () =>
        {
            var http = pool.TryTake(out var c) ? c : KbsClient.CreateHttpClient(url);
            await HandshakeAsync(http, evidence, key);
            pool.Add(http);
            latencies[index] = Stopwatch.GetElapsedTime(due).TotalMilliseconds; // from the scheduled start: includes queueing
        }));
    }

    await Task.WhenAll(tasks);
    Array.Sort(latencies);
    double Pct(double p) => latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(p * latencies.Length) - 1)];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rate_per_s={perSecond:F1} handshakes={total} p50_ms={Pct(0.50):F2} p99_ms={Pct(0.99):F2}"));
    return 0;
}
