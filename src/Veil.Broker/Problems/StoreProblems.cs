using Microsoft.AspNetCore.Http;

namespace Veil.Broker.Problems;

/// <summary>503 answers while the store is away: RFC 7807 body and Retry-After, so clients back off and come back.</summary>
internal static class StoreProblems
{
    public const int RetryAfterSeconds = 1;

    public static IResult Unavailable(string detail) => new RetryAfter(KbsProblem.Create(StatusCodes.Status503ServiceUnavailable, "StoreUnavailable", detail));

    /// <summary>The answer to a request that failed because the store did not answer: its outcome is not known.</summary>
    public static IResult RequestFailed() => Unavailable(
        "the broker's store did not answer; nothing was released, and a change may or may not have been stored: retry after Retry-After seconds");

    private sealed class RetryAfter(IResult inner) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(httpContext);
        }
    }
}
