using System.Net;
using System.Net.Http;
using System.Security.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Veil.Gateway.Evidence;
using Veil.Gateway.Tls;
using Yarp.ReverseProxy.Forwarder;

namespace Veil.Gateway.Hosting;

/// <summary>
/// <c>veil gateway</c>: Kestrel terminates TLS 1.3 with the in-memory key, <c>/.well-known/veil/attestation</c> answers
/// with evidence bound to that key, and everything else is forwarded by YARP to the loopback upstream, responses
/// streamed as they come (server-sent events included).
/// </summary>
public sealed class GatewayHost : IAsyncDisposable
{
    public const string AttestationPath = "/.well-known/veil/attestation";

    private readonly WebApplication app;
    private readonly GatewayCertificate certificate;
    private readonly AttestationService attestation;
    private readonly HttpMessageInvoker upstreamClient;

    private GatewayHost(WebApplication app, GatewayCertificate certificate, AttestationService attestation, HttpMessageInvoker upstreamClient, Uri address)
    {
        this.app = app;
        this.certificate = certificate;
        this.attestation = attestation;
        this.upstreamClient = upstreamClient;
        Address = address;
    }

    /// <summary>https://host:port the gateway listens on (a wildcard listen is reported as 127.0.0.1).</summary>
    public Uri Address { get; }

    /// <summary>SHA-256 of the TLS SubjectPublicKeyInfo, as hex (printed at start so operators can compare).</summary>
    public string SpkiSha256Hex => Convert.ToHexStringLower(certificate.SpkiSha256);

    public static async Task<GatewayHost> StartAsync(GatewayOptions options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Upstream.Scheme != "http" || !IsLoopback(options.Upstream))
        {
            throw new GatewayConfigurationException($"--upstream: must be http:// on loopback (127.0.0.0/8, [::1], localhost), the inference server beside the gateway; got {options.Upstream.Scheme}://{options.Upstream.Host}");
        }

        if (options.MaxConcurrentAttestations is < 1 or > 64)
        {
            throw new GatewayConfigurationException("max concurrent attestations: must be 1..64");
        }

        var certificate = GatewayCertificate.Create(options.Time);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        builder.Logging.AddFilter("Yarp", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(options.Listen, l => l.UseHttps(h =>
            {
                h.ServerCertificate = certificate.Certificate;
                // TLS 1.3 has no renegotiation: the key a client attested is the key of the whole connection.
                h.SslProtocols = SslProtocols.Tls13;
            }));
        });
        builder.Services.AddHttpForwarder();
        var app = builder.Build();

        var attestation = new AttestationService(options.Evidence, certificate.SpkiSha256, options.MaxConcurrentAttestations);
        app.MapGet(AttestationPath, async (HttpContext http, CancellationToken rct) =>
        {
            var answer = await attestation.AttestAsync(http.Request.Query["nonce"].Count == 1 ? http.Request.Query["nonce"][0] : null, rct).ConfigureAwait(false);
            http.Response.Headers.CacheControl = "no-store";
            return answer switch
            {
                AttestationAnswer.Document d => Results.Bytes(d.Json, "application/json"),
                AttestationAnswer.Refused r => Problem(r.Status, r.Title, r.Detail),
                _ => Problem(StatusCodes.Status500InternalServerError, "internal", "unexpected answer"),
            };
        });
        // The gateway's own namespace is never forwarded: an upstream path cannot shadow it.
        app.Map("/.well-known/veil/{**rest}", () => Problem(StatusCodes.Status404NotFound, "not found", "no such gateway endpoint"));

        var upstreamClient = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = TimeSpan.FromSeconds(10),
        });
        // Long generations stream for minutes; the activity timeout bounds silence, not the length of a stream.
        var config = new ForwarderRequestConfig { ActivityTimeout = TimeSpan.FromMinutes(5) };
        app.MapForwarder("/{**catch-all}", options.Upstream.GetLeftPart(UriPartial.Authority), config, HttpTransformer.Default, upstreamClient);

        try
        {
            await app.StartAsync(ct).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new GatewayConfigurationException($"--listen: cannot listen on {options.Listen} ({e.Message})", e);
        }

        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var address = new Uri(bound.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal));
        app.Logger.LogInformation("veil gateway on {Address} → {Upstream}; evidence from {Source}; TLS key sha256 {Key}",
            address, options.Upstream, options.Evidence.Source, Convert.ToHexStringLower(certificate.SpkiSha256));
        return new GatewayHost(app, certificate, attestation, upstreamClient, address);
    }

    public Task WaitForShutdownAsync(CancellationToken ct) => app.WaitForShutdownAsync(ct);

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
        upstreamClient.Dispose();
        attestation.Dispose();
        certificate.Dispose();
    }

    private static IResult Problem(int status, string title, string detail) =>
        Results.Json(new Dictionary<string, object> { ["type"] = "about:blank", ["title"] = title, ["status"] = status, ["detail"] = detail }, statusCode: status, contentType: "application/problem+json");

    private static bool IsLoopback(Uri u) =>
        u.IsLoopback || (IPAddress.TryParse(u.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
}
