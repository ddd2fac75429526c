using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Veil.Kubernetes.Admission;

namespace Veil.Kubernetes.Hosting;

/// <summary>The admission webhook: POST /validate, POST /mutate, GET /healthz over HTTPS.</summary>
public sealed class AdmissionServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private AdmissionServer(WebApplication app, IReadOnlyList<Uri> addresses, string startupLine)
    {
        StartupLine = startupLine;
        _app = app;
        Addresses = addresses;
    }

    public IReadOnlyList<Uri> Addresses { get; }

    /// <summary>The one start-up line; the CLI prints it and the server does not log it a second time.</summary>
    public string StartupLine { get; }

    public static Task<AdmissionServer> StartAsync(AdmissionServerOptions options, CancellationToken ct) => StartAsync(options, null, ct);

    /// <summary><paramref name="customize"/> lets tests capture logs; it is internal on purpose.</summary>
    internal static async Task<AdmissionServer> StartAsync(AdmissionServerOptions options, Action<WebApplicationBuilder>? customize, CancellationToken ct)
    {
        var listen = options.Urls.Select(ParseUrl).ToList();
        if (listen.Count == 0)
        {
            throw new WebhookConfigurationException("--urls: at least one https:// address is needed");
        }

        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(options.TlsCertificatePath, options.TlsKeyPath);
        }
        catch (Exception e) when (e is IOException or CryptographicException or UnauthorizedAccessException or ArgumentException)
        {
            throw new WebhookConfigurationException($"--tls-cert/--tls-key: cannot load the certificate and key ({e.GetType().Name})");
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // "Now listening on" and "Application started" repeat the start-up line the CLI prints.
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.MaxBodyBytes;
            foreach (var (address, port) in listen)
            {
                k.Listen(address, port, o => o.UseHttps(certificate));
            }
        });
        builder.Services.AddSingleton(new AdmissionHandler(options.Webhook));
        customize?.Invoke(builder);

        var app = builder.Build();
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Veil.Admission");
        app.MapPost("/validate", (HttpContext http, AdmissionHandler handler) => HandleAsync(http, handler, log, mutate: false));
        app.MapPost("/mutate", (HttpContext http, AdmissionHandler handler) => HandleAsync(http, handler, log, mutate: true));
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        await app.StartAsync(ct).ConfigureAwait(false);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(a => new Uri(a.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "[::1]", StringComparison.Ordinal))).ToList();
        var startupLine = $"veil admission webhook listening on {string.Join(" ", addresses)}; allowed runtime classes: " +
            $"{string.Join(", ", options.Webhook.AllowedRuntimeClasses)}; sealed-model key source: " +
            (options.Webhook.KeySource == UnsealKeySource.Cdh ? "the guest's confidential-data-hub" : $"broker {options.Webhook.BrokerUrl}");
        return new AdmissionServer(app, addresses, startupLine);
    }

    public Task WaitForShutdownAsync(CancellationToken ct) => _app.WaitForShutdownAsync(ct);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static async Task HandleAsync(HttpContext http, AdmissionHandler handler, ILogger log, bool mutate)
    {
        var endpoint = mutate ? "mutate" : "validate";
        byte[] body;
        try
        {
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer, http.RequestAborted).ConfigureAwait(false);
            body = buffer.ToArray();
        }
        catch (BadHttpRequestException e)
        {
            await ProblemAsync(http, e.StatusCode, "$", "request body unreadable or too large").ConfigureAwait(false);
            return;
        }

        try
        {
            var (request, decision, response) = handler.Handle(body, mutate);
            // Only names, field paths and class names reach the log: never env values, annotations' secrets or the pod body.
            log.LogInformation("admission {Endpoint} uid={Uid} {Namespace}/{Pod} {Kind} {Operation}: {Verdict}{Patched} {Message}",
                endpoint, request.Uid, request.Namespace ?? "-", request.Pod is null ? "-" : PodJson.Name(request.Pod), request.Kind, request.Operation,
                decision.Allowed ? "allowed" : "denied", decision.Patch is { Count: > 0 } ? " (patched)" : "", decision.Message ?? "");
            http.Response.StatusCode = StatusCodes.Status200OK;
            http.Response.ContentType = "application/json";
            await http.Response.Body.WriteAsync(response, http.RequestAborted).ConfigureAwait(false);
        }
        catch (AdmissionReviewException e)
        {
            log.LogWarning("admission {Endpoint}: malformed review: {Field}: {Reason}", endpoint, e.Field, e.Reason);
            await ProblemAsync(http, StatusCodes.Status400BadRequest, e.Field, e.Reason).ConfigureAwait(false);
        }
    }

    /// <summary>RFC 7807 problem details naming the JSON field that was wrong.</summary>
    private static async Task ProblemAsync(HttpContext http, int status, string field, string reason)
    {
        var problem = new JsonObject
        {
            ["type"] = "https://veil.dev/problems/malformed-admission-review",
            ["title"] = "Malformed AdmissionReview",
            ["status"] = status,
            ["detail"] = $"{field}: {reason}",
            ["field"] = field,
        };
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/problem+json";
        await http.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(problem.ToJsonString()), http.RequestAborted).ConfigureAwait(false);
    }

    private static (IPAddress Address, int Port) ParseUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.AbsolutePath != "/")
        {
            throw new WebhookConfigurationException($"--urls: '{url}' is not of the form https://address:port");
        }

        if (uri.Scheme != "https")
        {
            throw new WebhookConfigurationException($"--urls: '{url}': the webhook serves HTTPS only (the API server calls webhooks over TLS)");
        }

        var host = uri.Host.Trim('[', ']');
        var address = host is "*" or "+" or "0.0.0.0" ? IPAddress.Any
            : host == "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(host, out var a) ? a
            : throw new WebhookConfigurationException($"--urls: '{url}': use an IP address, not a host name");
        return (address, uri.Port);
    }
}
