using System.Net;
using System.Net.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Veil.Connect.Connection;
using Yarp.ReverseProxy.Forwarder;

namespace Veil.Connect.Proxy;

/// <summary>
/// <c>veil connect</c>: plain HTTP on loopback, forwarded by YARP over attested connections only. A refused or failed
/// attestation answers the local client with a problem (502 refused, 503 unreachable) carrying the reasons; the
/// request is never written to the gateway.
/// </summary>
public sealed class ConnectProxy : IAsyncDisposable
{
    public const string StatusPath = "/.veil/status";

    private readonly WebApplication app;
    private readonly HttpMessageInvoker invoker;

    private ConnectProxy(WebApplication app, HttpMessageInvoker invoker, Uri address)
    {
        this.app = app;
        this.invoker = invoker;
        Address = address;
    }

    public Uri Address { get; }

    public static async Task<ConnectProxy> StartAsync(ConnectOptions options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Gateway is not { IsAbsoluteUri: true, Scheme: "https" } gateway || gateway.AbsolutePath != "/")
        {
            throw new ArgumentException("the gateway must be https://host[:port] (no path)", nameof(options));
        }

        if (!IPAddress.IsLoopback(options.Listen.Address))
        {
            throw new ArgumentException("--listen: loopback only (127.0.0.0/8 or [::1]); requests are plain HTTP until they leave through the attested connection", nameof(options));
        }

        var status = new AttestationStatus();
        var observer = options.Attestation.Observer;
        var attestation = options.Attestation with { Observer = o => { status.Record(o); observer?.Invoke(o); } };
        var invoker = new HttpMessageInvoker(AttestedTlsHandler.CreateInner(attestation));
        var destination = $"http://{gateway.Authority}/";
        var gatewayName = gateway.Authority;

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        builder.Logging.AddFilter("Yarp", LogLevel.Critical);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(options.Listen);
        });
        builder.Services.AddHttpForwarder();
        var app = builder.Build();

        app.MapGet(StatusPath, (HttpContext http) =>
            http.Request.Query["format"] == "json" || http.Request.Headers.Accept.ToString().Contains("application/json", StringComparison.Ordinal)
                ? Results.Json(status.ToJson(gatewayName))
                : Results.Content(status.ToHtml(gatewayName), "text/html; charset=utf-8"));

        var config = new ForwarderRequestConfig { ActivityTimeout = TimeSpan.FromMinutes(5), Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        var forwarder = app.Services.GetRequiredService<IHttpForwarder>();
        app.Map("/{**catch-all}", async (HttpContext http) =>
        {
            var error = await forwarder.SendAsync(http, destination, invoker, config, HttpTransformer.Default).ConfigureAwait(false);
            if (error != ForwarderError.None && !http.Response.HasStarted)
            {
                await WriteRefusalAsync(http, error).ConfigureAwait(false);
            }
        });

        try
        {
            await app.StartAsync(ct).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            invoker.Dispose();
            throw new ArgumentException($"--listen: cannot listen on {options.Listen} ({e.Message})", nameof(options), e);
        }

        var bound = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return new ConnectProxy(app, invoker, bound);
    }

    /// <summary>Maps the forwarder's failure to the local client's answer: the reasons, never a stack trace.</summary>
    private static Task WriteRefusalAsync(HttpContext http, ForwarderError error)
    {
        var exception = http.Features.Get<IForwarderErrorFeature>()?.Exception;
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case AttestationRefusedException refused:
                    return Problem(http, StatusCodes.Status502BadGateway, "attestation refused", refused.Outcome.Reasons);
                case GatewayUnreachableException unreachable:
                    return Problem(http, StatusCodes.Status503ServiceUnavailable, "gateway unreachable", [unreachable.Message]);
            }
        }

        return Problem(http, StatusCodes.Status502BadGateway, "forwarding failed", [$"forwarding to the gateway failed ({error})"]);
    }

    private static Task Problem(HttpContext http, int status, string title, IReadOnlyList<string> reasons)
    {
        http.Response.Clear();
        http.Response.StatusCode = status;
        var body = new Dictionary<string, object>
        {
            ["type"] = "about:blank",
            ["title"] = title,
            ["status"] = status,
            ["detail"] = string.Join("; ", reasons),
            ["veil.explanations"] = reasons,
        };
        return http.Response.WriteAsJsonAsync(body, (System.Text.Json.JsonSerializerOptions?)null, "application/problem+json");
    }

    public Task WaitForShutdownAsync(CancellationToken ct) => app.WaitForShutdownAsync(ct);

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
        invoker.Dispose();
    }
}
