using Veil.Abi.Tee;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Veil.Broker.Flow;
using Veil.Broker.Limits;
using Veil.Broker.Metrics;
using Veil.Broker.Problems;
using Veil.Broker.Rcar;
using Veil.Broker.Verification;
using Veil.Protocol;
using Veil.Protocol.Messages;

namespace Veil.Broker.Endpoints;

/// <summary>
/// The RCAR endpoints of KBS protocol 0.4.0: auth, attest, resource. Attest and resource only carry HTTP in and out
/// (cookie, body, bearer) and map the outcome of <see cref="AttestationFlow"/> / <see cref="ReleaseFlow"/> to a
/// status and an RFC 7807 problem.
/// </summary>
internal static class KbsEndpoints
{
    public const string CookieName = "kbs-session-id";

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/kbs/v0/auth", AuthAsync).RequireRateLimiting(RateLimits.AuthPolicy);
        app.MapPost("/kbs/v0/attest", AttestAsync).RequireRateLimiting(RateLimits.AttestPolicy);
        app.MapGet("/kbs/v0/resource/{repository}/{type}/{tag}", GetResourceAsync).RequireRateLimiting(RateLimits.ResourcePolicy);
    }

    private static async Task<IResult> AuthAsync(HttpContext http, SessionStore sessions, EvidenceVerifiers verifiers, BrokerMetrics metrics, TimeProvider time)
    {
        var body = await HttpBodies.ReadAsync(http.Request, HttpBodies.AuthMaxBytes, http.RequestAborted).ConfigureAwait(false);
        if (body is null)
        {
            return KbsProblem.Create(StatusCodes.Status413PayloadTooLarge, "PayloadTooLarge", $"auth request body exceeds {HttpBodies.AuthMaxBytes} bytes");
        }

        KbsRequest request;
        try
        {
            request = KbsRequest.Parse(body);
        }
        catch (ProtocolFormatException e)
        {
            return KbsProblem.BadRequest("InvalidRequest", "request " + e.Message);
        }

        if (request.Version != KbsRequest.ProtocolVersion)
        {
            return KbsProblem.Unauthorized("ProtocolVersion",
                $"KBS Client Protocol Version Mismatch: client speaks '{CallerText.Echo(request.Version)}', this broker speaks '{KbsRequest.ProtocolVersion}'");
        }

        if (verifiers.Check(request.Tee) is { } refusal)
        {
            metrics.Attestation(request.Tee, AttestationOutcome.Refused);
            return KbsProblem.Unauthorized(refusal.Kind, refusal.Detail);
        }

        // The session keeps the broker's own instance of the name, not the caller's string.
        var (session, capped) = await sessions.TryCreateAsync(TeeNames.Canonical(request.Tee)!, ClientKey.Of(http), http.RequestAborted).ConfigureAwait(false);
        metrics.SessionsHeld(sessions.Limits.Count);
        if (session is null)
        {
            metrics.SessionRefused(capped!.Reason);
            return KbsProblem.TooManyRequests("TooManySessions", capped.Detail, capped.RetryAfter);
        }

        SetCookie(http, session, time);
        return Results.Bytes(KbsChallenge.Create(session.Nonce).ToUtf8(), "application/json");
    }

    private static async Task<IResult> AttestAsync(HttpContext http, AttestationFlow flow, TimeProvider time)
    {
        var outcome = await flow.AttestAsync(http.Request.Cookies[CookieName], ct => HttpBodies.ReadAsync(http.Request, ct), http.RequestAborted).ConfigureAwait(false);
        switch (outcome)
        {
            case AttestOutcome.Attested attested:
                SetCookie(http, attested.Session, time);
                return Results.Bytes(AttestResponse.Serialize(attested.Token), "application/json");
            case AttestOutcome.TooLarge r:
                return KbsProblem.Create(StatusCodes.Status413PayloadTooLarge, r.Kind, r.Detail);
            case AttestOutcome.Malformed r:
                return KbsProblem.BadRequest(r.Kind, r.Detail);
            case AttestOutcome.Refused r:
                // No session, nonce, TEE, evidence, init-data, devices: the caller is not (yet) authenticated.
                return KbsProblem.Unauthorized(r.Kind, r.Detail);
            default:
                throw new InvalidOperationException("unmapped attest outcome " + outcome.GetType().Name);
        }
    }

    private static async Task<IResult> GetResourceAsync(string repository, string type, string tag, HttpContext http, ReleaseFlow flow)
    {
        var outcome = await flow.ReleaseAsync(repository, type, tag, HttpBodies.BearerToken(http.Request), http.Request.Cookies[CookieName], http.RequestAborted).ConfigureAwait(false);
        return outcome switch
        {
            ReleaseOutcome.Released released => Results.Bytes(released.Jwe.ToUtf8(), "application/json"),
            ReleaseOutcome.InvalidPath r => KbsProblem.BadRequest(r.Kind, r.Detail),
            ReleaseOutcome.BadTeeKey r => KbsProblem.BadRequest(r.Kind, r.Detail),
            ReleaseOutcome.NotFound r => KbsProblem.Create(StatusCodes.Status404NotFound, r.Kind, r.Detail),
            ReleaseOutcome.MasterKeyUnavailable r => KeyProblems.Unavailable(r.Detail),
            ReleaseOutcome.StoredValueUnreadable r => KbsProblem.Create(StatusCodes.Status503ServiceUnavailable, r.Kind, r.Detail),
            ReleaseOutcome.PolicyDenied { Explanations: { } why } r => KbsProblem.Create(StatusCodes.Status401Unauthorized, r.Kind, r.Detail, new Dictionary<string, object> { ["explanations"] = why }),
            ReleaseOutcome.Refused r => KbsProblem.Unauthorized(r.Kind, r.Detail),
            _ => throw new InvalidOperationException("unmapped release outcome " + outcome.GetType().Name),
        };
    }

    /// <summary>
    /// Max-Age rather than Expires: the client's clock need not agree with the broker's (the session's expiry is
    /// enforced by the broker either way).
    /// </summary>
    private static void SetCookie(HttpContext http, RcarSession session, TimeProvider time) =>
        http.Response.Cookies.Append(CookieName, session.Id, new CookieOptions
        {
            MaxAge = session.Expires - time.GetUtcNow() is { Ticks: > 0 } left ? left : TimeSpan.Zero,
            HttpOnly = true,
            Secure = http.Request.IsHttps,
            Path = "/kbs/v0",
            SameSite = SameSiteMode.Strict,
        });
}
