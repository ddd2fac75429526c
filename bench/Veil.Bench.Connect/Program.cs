using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Veil.Connect;
using Veil.Connect.Proxy;
using Veil.Gateway.Hosting;
using Veil.Guest;
using Veil.Policy;
using Yarp.ReverseProxy.Forwarder;

// connect: requests/s of small chat completions over kept-alive connections through veil connect + veil gateway,
// divided by the same through a plain pair of YARP hosts (local HTTP → TLS 1.3 → upstream) doing the same forwarding
// without attestation; rounds alternate in one process. Also the first request's latency through a fresh pair of each.
// Usage: Veil.Bench.Connect <seconds per round> <rounds> <concurrency>
var seconds = double.Parse(args.ElementAtOrDefault(0) ?? "3", CultureInfo.InvariantCulture);
var rounds = int.Parse(args.ElementAtOrDefault(1) ?? "5", CultureInfo.InvariantCulture);
var concurrency = int.Parse(args.ElementAtOrDefault(2) ?? "8", CultureInfo.InvariantCulture);

var chat = Encoding.UTF8.GetBytes("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello.\"}],\"max_tokens\":8}");
var reply = Encoding.UTF8.GetBytes("{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello!\"},\"finish_reason\":\"stop\"}]}");

await using var upstream = await Host(null, app => app.MapPost("/v1/chat/completions", async (HttpContext http) =>
{
    await http.Request.Body.CopyToAsync(Stream.Null);
    http.Response.ContentType = "application/json";
    await http.Response.Body.WriteAsync(reply);
}));
var upstreamUri = Address(upstream);

// The veil pair, with in-process sample evidence (the bench measures forwarding, not a TEE).
var options = new AttestedTlsOptions { Policy = DefaultPolicies.Load("sample"), AllowSample = true };
await using var gateway = await GatewayHost.StartAsync(new GatewayOptions { Upstream = upstreamUri, Listen = new IPEndPoint(IPAddress.Loopback, 0), Evidence = new GatewayEvidence(null, null) }, CancellationToken.None);
await using var connect = await ConnectProxy.StartAsync(new ConnectOptions { Gateway = gateway.Address, Listen = new IPEndPoint(IPAddress.Loopback, 0), Attestation = options }, CancellationToken.None);

// The plain pair: the same two YARP hops and TLS 1.3 with a self-signed P-256 key, the client side pinning nothing.
using var plainCert = SelfSigned();
var toUpstream = Invoker(acceptAny: false);
await using var plainTls = await Host(plainCert, app => app.MapForwarder("/{**catch-all}", upstreamUri.GetLeftPart(UriPartial.Authority), new ForwarderRequestConfig(), HttpTransformer.Default, toUpstream));
var toTls = Invoker(acceptAny: true);
var http11 = new ForwarderRequestConfig { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
await using var plainLocal = await Host(null, app => app.MapForwarder("/{**catch-all}", Address(plainTls).GetLeftPart(UriPartial.Authority), http11, HttpTransformer.Default, toTls));

var veilUri = connect.Address;
var plainUri = Address(plainLocal);

// First request through a fresh pair: TCP + TLS (+ evidence, verification, appraisal for veil).
var firstVeil = new List<double>();
var firstPlain = new List<double>();
for (var i = 0; i < 7; i++)
{
    await using (var fresh = await ConnectProxy.StartAsync(new ConnectOptions { Gateway = gateway.Address, Listen = new IPEndPoint(IPAddress.Loopback, 0), Attestation = options }, CancellationToken.None))
    {
        firstVeil.Add(await FirstRequestMs(fresh.Address));
    }

    var freshInvoker = Invoker(acceptAny: true);
    await using (var freshLocal = await Host(null, app => app.MapForwarder("/{**catch-all}", Address(plainTls).GetLeftPart(UriPartial.Authority), http11, HttpTransformer.Default, freshInvoker)))
    {
        firstPlain.Add(await FirstRequestMs(Address(freshLocal)));
    }

    freshInvoker.Dispose();
}

using var veilClient = Client(veilUri);
using var plainClient = Client(plainUri);
await JitWarmUp.Run(async () =>
{
    await Send(veilClient);
    await Send(plainClient);
});

var veilRates = new List<double>();
var plainRates = new List<double>();
for (var r = 0; r < rounds; r++)
{
    veilRates.Add(await Rate(veilClient));
    plainRates.Add(await Rate(plainClient));
}

static double Median(List<double> xs)
{
    var s = xs.Order().ToList();
    return s.Count % 2 == 1 ? s[s.Count / 2] : (s[(s.Count / 2) - 1] + s[s.Count / 2]) / 2;
}

var inv = CultureInfo.InvariantCulture;
Console.WriteLine(string.Create(inv, $"veil_rps={Median(veilRates):F0} rounds=[{string.Join(' ', veilRates.Select(x => x.ToString("F0", inv)))}]"));
Console.WriteLine(string.Create(inv, $"plain_rps={Median(plainRates):F0} rounds=[{string.Join(' ', plainRates.Select(x => x.ToString("F0", inv)))}]"));
Console.WriteLine(string.Create(inv, $"first_request_ms veil={Median(firstVeil):F2} plain={Median(firstPlain):F2} added={Median(firstVeil) - Median(firstPlain):F2}"));
// Rounds are paired (veil then plain, back to back): the median of the per-pair ratios resists the load swings of a
// shared machine better than a ratio of medians.
var paired = veilRates.Zip(plainRates, (v, p) => v / p).ToList();
Console.WriteLine(string.Create(inv, $"ratio_of_medians={Median(veilRates) / Median(plainRates):F3} paired=[{string.Join(' ', paired.Select(x => x.ToString("F3", inv)))}]"));
Console.WriteLine(string.Create(inv, $"ratio={Median(paired):F3}"));
toUpstream.Dispose();
toTls.Dispose();
return 0;

async Task<double> Rate(HttpClient client)
{
    var count = 0L;
    var sw = Stopwatch.StartNew();
    var until = TimeSpan.FromSeconds(seconds);
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        while (sw.Elapsed < until)
        {
            await Send(client);
            Interlocked.Increment(ref count);
        }
    }));
    return count / sw.Elapsed.TotalSeconds;
}

async Task Send(HttpClient client)
{
    using var content = new ByteArrayContent(chat);
    content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
    using var response = await client.PostAsync("v1/chat/completions", content);
    var body = await response.Content.ReadAsByteArrayAsync();
    if (response.StatusCode != HttpStatusCode.OK || body.Length != reply.Length)
    {
        throw new InvalidOperationException($"unexpected answer {(int)response.StatusCode}: {Encoding.UTF8.GetString(body)}");
    }
}

async Task<double> FirstRequestMs(Uri uri)
{
    using var client = Client(uri);
    var sw = Stopwatch.StartNew();
    await Send(client);
    return sw.Elapsed.TotalMilliseconds;
}

static HttpClient Client(Uri baseAddress) =>
    new(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = 64 }) { BaseAddress = baseAddress };

static HttpMessageInvoker Invoker(bool acceptAny)
{
    var handler = new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false, AutomaticDecompression = DecompressionMethods.None };
    if (acceptAny)
    {
        // The reference pair trusts its own self-signed certificate, as a pinned private deployment would.
#pragma warning disable CA5359
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
#pragma warning restore CA5359
        handler.SslOptions.EnabledSslProtocols = SslProtocols.Tls13;
    }

    return new HttpMessageInvoker(handler);
}

static X509Certificate2 SelfSigned()
{
    using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    var request = new CertificateRequest("CN=plain-proxy", key, HashAlgorithmName.SHA256);
    return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
}

static async Task<WebApplication> Host(X509Certificate2? certificate, Action<WebApplication> map)
{
    var builder = WebApplication.CreateSlimBuilder();
    builder.Logging.ClearProviders();
    builder.WebHost.ConfigureKestrel(k =>
    {
        k.AddServerHeader = false;
        k.Listen(IPAddress.Loopback, 0, l =>
        {
            if (certificate is not null)
            {
                l.UseHttps(h =>
                {
                    h.ServerCertificate = certificate;
                    h.SslProtocols = SslProtocols.Tls13;
                });
            }
        });
    });
    builder.Services.AddHttpForwarder();
    var app = builder.Build();
    map(app);
    await app.StartAsync();
    return app;
}

static Uri Address(WebApplication app) =>
    new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
