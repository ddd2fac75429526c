using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Veil.Broker.Keys;
using Veil.Broker.Metrics;
using Veil.Broker.Problems;
using Veil.Broker.Storage;

namespace Veil.Broker.Endpoints;

/// <summary>Liveness, readiness, Prometheus metrics and the token-verification JWKS; no authentication, no secrets.</summary>
internal static class OpsEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        // Liveness: the process serves HTTP. It never looks at the store, so a store outage does not get every
        // replica restarted at once; readiness takes a replica out of the load balancer instead.
        app.MapGet("/healthz", () => Results.Text("ok\n", "text/plain"));
        app.MapGet("/livez", () => Results.Text("ok\n", "text/plain"));
        app.MapGet("/readyz", async (StoreReadiness readiness) =>
        {
            var (ready, detail) = await readiness.CheckAsync().ConfigureAwait(false);
            return ready ? Results.Text("ready\n", "text/plain") : StoreProblems.Unavailable(detail);
        });
        app.MapGet("/metrics", async (BrokerMetrics metrics, CancellationToken ct) => Results.Bytes(await metrics.RenderAsync(ct).ConfigureAwait(false), "text/plain; version=0.0.4; charset=utf-8"));
        app.MapGet("/.well-known/jwks.json", (TokenService tokens) => Results.Bytes(tokens.Jwks(), "application/jwk-set+json"));
    }
}
