using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Veil.Broker.Problems;

/// <summary>
/// RFC 7807 problem details. <c>type</c> uses Trustee's KBS error URIs so that CoCo clients recognise the kind;
/// <c>detail</c> says what went wrong and what to do, and never carries a secret.
/// </summary>
internal static class KbsProblem
{
    public const string TypePrefix = "https://github.com/confidential-containers/kbs/errors/";

    public static IResult Create(int status, string kind, string detail, IReadOnlyDictionary<string, object>? extensions = null)
    {
        var body = new Dictionary<string, object>
        {
            ["type"] = TypePrefix + kind,
            ["title"] = kind,
            ["status"] = status,
            ["detail"] = detail,
        };
        foreach (var (name, value) in extensions ?? new Dictionary<string, object>())
        {
            body[name] = value;
        }

        return Results.Json(body, statusCode: status, contentType: "application/problem+json");
    }

    public static IResult Unauthorized(string kind, string detail) => Create(StatusCodes.Status401Unauthorized, kind, detail);

    public static IResult BadRequest(string kind, string detail) => Create(StatusCodes.Status400BadRequest, kind, detail);

    /// <summary>429 with a <c>Retry-After</c> header in whole seconds (at least 1).</summary>
    public static IResult TooManyRequests(string kind, string detail, TimeSpan retryAfter) =>
        new WithRetryAfter(Create(StatusCodes.Status429TooManyRequests, kind, detail), retryAfter);

    private sealed class WithRetryAfter(IResult inner, TimeSpan after) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = Math.Max(1, Math.Ceiling(after.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(httpContext);
        }
    }
}
