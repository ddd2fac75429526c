using System.Net;
using System.Net.Http;
using System.Security.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Veil.Gateway.Tls;
using Yarp.ReverseProxy.Forwarder;

namespace Veil.Connect.Tests;

/// <summary>
/// The attacker: a TLS endpoint with its own key that answers the evidence request as the test says (relay the real
/// gateway's evidence, replay an old document, forge a stale one…) and forwards everything else to the real gateway,
/// so any request that got past the client would reach the counting upstream.
/// </summary>
internal sealed class ForgingGateway : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly HttpMessageInvoker toGateway;

    private readonly HttpClient evidenceClient;

    private ForgingGateway(WebApplication app, HttpMessageInvoker toGateway, HttpClient evidenceClient, GatewayCertificate certificate, Uri address)
    {
        this.app = app;
        this.toGateway = toGateway;
        this.evidenceClient = evidenceClient;
        Certificate = certificate;
        Address = address;
    }

    public GatewayCertificate Certificate { get; }

    public Uri Address { get; }

    public int EvidenceRequests;

    /// <summary><paramref name="answer"/> gets the nonce query value, the attacker's own key hash and a client to the real gateway.</summary>
    public static async Task<ForgingGateway> StartAsync(Uri realGateway, Func<string, byte[], HttpClient, Task<byte[]>> answer)
    {
        var certificate = GatewayCertificate.Create(TimeProvider.System);
#pragma warning disable CA5359 // The attacker relays to the real gateway whatever its certificate.
        var toGateway = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        });
        var evidenceClient = new HttpClient(new SocketsHttpHandler { UseProxy = false, SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } }) { BaseAddress = realGateway };
#pragma warning restore CA5359
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(h =>
        {
            h.ServerCertificate = certificate.Certificate;
            h.SslProtocols = SslProtocols.Tls13;
        })));
        builder.Services.AddHttpForwarder();
        var app = builder.Build();
        ForgingGateway? self = null;
        app.MapGet("/.well-known/veil/attestation", async (HttpContext http) =>
        {
            Interlocked.Increment(ref self!.EvidenceRequests);
            var body = await answer(http.Request.Query["nonce"].ToString(), certificate.SpkiSha256, evidenceClient);
            return Results.Bytes(body, "application/json");
        });
        app.MapForwarder("/{**catch-all}", realGateway.GetLeftPart(UriPartial.Authority), new ForwarderRequestConfig(), HttpTransformer.Default, toGateway);
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        self = new ForgingGateway(app, toGateway, evidenceClient, certificate, address);
        return self;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        toGateway.Dispose();
        evidenceClient.Dispose();
        Certificate.Dispose();
    }
}
