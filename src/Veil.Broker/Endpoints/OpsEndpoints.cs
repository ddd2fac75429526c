using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Veil.Broker.Keys;
using Veil.Broker.Metrics;

namespace Veil.Broker.Endpoints;

/// <summary>Health, Prometheus metrics and the token-verification JWKS; no authentication, no secrets.</summary>
internal static class OpsEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Text("ok\n", "text/plain"));
        app.MapGet("/metrics", async (BrokerMetrics metrics, CancellationToken ct) => Results.Bytes(await metrics.RenderAsync(ct).ConfigureAwait(false), "text/plain; version=0.0.4; charset=utf-8"));
        app.MapGet("/.well-known/jwks.json", (TokenService tokens) => Results.Bytes(tokens.Jwks(), "application/jwk-set+json"));
    }
}
