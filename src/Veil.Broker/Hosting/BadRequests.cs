using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Veil.Broker.Endpoints;
using Veil.Broker.Metrics;
using Veil.Broker.Problems;

namespace Veil.Broker.Hosting;

/// <summary>
/// Kestrel reports a bad body (larger than the limit once chunked, slower than the minimum data rate, broken chunk
/// framing, shorter than its Content-Length) by throwing from the body read. Left alone, that reaches the exception
/// handler as a 500 with a stack trace in the log; here it becomes the 4xx Kestrel meant, with a problem body, and
/// one log line without a stack trace. A client that went away mid-request is not an error either.
/// </summary>
internal static partial class BadRequests
{
    public static async Task HandleAsync(HttpContext http, RequestDelegate next)
    {
        try
        {
            await next(http).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e)
        {
            var services = http.RequestServices;
            services.GetRequiredService<BrokerMetrics>().BadRequest(e.StatusCode);
            var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(BadRequests).FullName!);
            LogBadRequest(logger, e.StatusCode, EndpointNames.Of(http.Request), CallerText.Echo(e.Message, 120));
            if (!http.Response.HasStarted && !http.RequestAborted.IsCancellationRequested)
            {
                http.Response.Clear();
                var (kind, detail) = Describe(e);
                await KbsProblem.Create(e.StatusCode, kind, detail).ExecuteAsync(http).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (http.RequestAborted.IsCancellationRequested && e is OperationCanceledException or IOException)
        {
            // The connection is gone: nobody to answer, nothing to fix.
        }
    }

    private static (string Kind, string Detail) Describe(BadHttpRequestException e) => e.StatusCode switch
    {
        StatusCodes.Status413PayloadTooLarge => ("PayloadTooLarge", $"request body exceeds {HttpBodies.MaxBytes.ToString(CultureInfo.InvariantCulture)} bytes"),
        StatusCodes.Status408RequestTimeout => ("RequestTimeout", "request body arrived slower than the minimum data rate; send it at once"),
        _ => ("InvalidRequest", "malformed request: " + CallerText.Echo(e.Message, 120)),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "bad request {Status} on {Endpoint}: {Reason}")]
    private static partial void LogBadRequest(ILogger logger, int status, string endpoint, string reason);
}
