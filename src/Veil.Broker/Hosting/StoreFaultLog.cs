using Microsoft.Extensions.Logging;

namespace Veil.Broker.Hosting;

/// <summary>One warning line per request that failed on the store (endpoint label and failure kind only).</summary>
internal static partial class StoreFaultLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "store unavailable: {Endpoint} answered 503 ({Why})")]
    public static partial void Failed(ILogger logger, string endpoint, string why);
}
