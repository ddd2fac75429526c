using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Veil.Broker.Metrics;
using Veil.Broker.Problems;

namespace Veil.Broker.Limits;

/// <summary>Requests per second per client for each rate-limited endpoint group; a burst of twice that is allowed.</summary>
public sealed record RateLimitSettings(int AuthPerSecond = 20, int AttestPerSecond = 20, int AdminPerSecond = 10)
{
    public const int Max = 1_000_000;
}

/// <summary>
/// Per-client token buckets (ASP.NET Core's rate limiter) on /auth, /attest, the resource GET (with attest's rate)
/// and the admin endpoints, partitioned by <see cref="ClientKey"/>. A refusal is 429 with Retry-After and a problem
/// body. The limiter drops a client's bucket once it is full again, so idle clients hold no memory.
/// </summary>
internal static class RateLimits
{
    public const string AuthPolicy = EndpointNames.Auth;
    public const string AttestPolicy = EndpointNames.Attest;
    public const string ResourcePolicy = EndpointNames.Resource;
    public const string AdminPolicy = EndpointNames.Admin;

    public static void Configure(RateLimiterOptions o, RateLimitSettings settings)
    {
        Add(o, AuthPolicy, settings.AuthPerSecond);
        Add(o, AttestPolicy, settings.AttestPerSecond);
        Add(o, ResourcePolicy, settings.AttestPerSecond);
        Add(o, AdminPolicy, settings.AdminPerSecond);
        o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
        o.OnRejected = async (context, ct) =>
        {
            var http = context.HttpContext;
            var endpoint = EndpointNames.Of(http.Request);
            http.RequestServices.GetRequiredService<BrokerMetrics>().RateLimited(endpoint);
            var after = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
            if (http.Request.ContentLength is > 0 || http.Request.Headers.TransferEncoding.Count > 0)
            {
                // As for an oversized body (HttpBodies): a refused request's body is not drained. Kestrel would otherwise
                // read and discard all of it (up to 2 MiB) to keep the connection alive, so a client over its rate still
                // made the broker read every byte it sent.
                http.Response.Headers.Connection = "close";
            }

            await KbsProblem.TooManyRequests("TooManyRequests",
                $"rate limit for {endpoint} requests from this client reached; retry after {Seconds(after)} s", after).ExecuteAsync(http).ConfigureAwait(false);
        };
    }

    private static string Seconds(TimeSpan t) => Math.Max(1, Math.Ceiling(t.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    private static void Add(RateLimiterOptions o, string policy, int perSecond) =>
        o.AddPolicy(policy, http => RateLimitPartition.GetTokenBucketLimiter(ClientKey.Of(http), _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = 2 * perSecond,
            TokensPerPeriod = perSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
}
