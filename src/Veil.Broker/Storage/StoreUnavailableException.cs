namespace Veil.Broker.Storage;

/// <summary>
/// The store could not be reached or did not answer (PostgreSQL restarting, network gone, pool exhausted, timeout).
/// The outcome of the operation is unknown: callers release nothing and answer 503 with Retry-After. The message
/// never holds the connection string.
/// </summary>
public sealed class StoreUnavailableException : Exception
{
    public StoreUnavailableException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public StoreUnavailableException(string message)
        : base(message)
    {
    }

    public StoreUnavailableException()
        : this("the broker's store is unavailable")
    {
    }

    /// <summary>True when <paramref name="e"/> or any exception inside it is a store outage.</summary>
    public static bool IsIn(Exception? e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            if (x is StoreUnavailableException)
            {
                return true;
            }

            if (x is AggregateException agg && agg.InnerExceptions.Any(IsIn))
            {
                return true;
            }
        }

        return false;
    }
}
