using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Veil.Connect.Tests;

/// <summary>
/// An OpenAI-style inference server on loopback behind a <see cref="TcpRelay"/> that counts every byte reaching it.
/// <c>POST /v1/chat/completions</c> answers JSON, or with <c>"stream":true</c> server-sent events: the first event, then
/// (once the test released <see cref="SecondEvent"/>) the second and <c>[DONE]</c>, so buffering anywhere shows as a hang.
/// </summary>
internal sealed class CountingUpstream : IAsyncDisposable
{
    private readonly WebApplication app;

    private CountingUpstream(WebApplication app, TcpRelay relay)
    {
        this.app = app;
        Relay = relay;
    }

    public TcpRelay Relay { get; }

    /// <summary>What the gateway is told the upstream is: the counting relay.</summary>
    public Uri Address => new($"http://127.0.0.1:{Relay.Port}");

    public long BytesReceived => Relay.BytesIn;

    public SemaphoreSlim SecondEvent { get; } = new(0);

    public int Requests;

    public static async Task<CountingUpstream> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        CountingUpstream? self = null;
        app.MapPost("/v1/chat/completions", async (HttpContext http) =>
        {
            Interlocked.Increment(ref self!.Requests);
            using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            if (!body.Contains("\"stream\":true", StringComparison.Ordinal))
            {
                http.Response.ContentType = "application/json";
                await http.Response.WriteAsync("{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"Hello\"}}]}");
                return;
            }

            http.Response.ContentType = "text/event-stream";
            await http.Response.WriteAsync("data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n");
            await http.Response.Body.FlushAsync();
            if (!await self.SecondEvent.WaitAsync(TimeSpan.FromSeconds(30)))
            {
                return;
            }

            await http.Response.WriteAsync("data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\ndata: [DONE]\n\n");
        });
        await app.StartAsync();
        var port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        self = new CountingUpstream(app, new TcpRelay(new IPEndPoint(IPAddress.Loopback, port)));
        return self;
    }

    public async ValueTask DisposeAsync()
    {
        Relay.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
        SecondEvent.Dispose();
    }
}
