using System.Net.Sockets;
using Npgsql;

namespace Veil.Broker.Storage;

/// <summary>
/// Which driver failures mean "the store is not there right now" (answer 503, retry later) rather than a bug.
/// Anything else propagates as it is.
/// </summary>
internal static class PostgresFaults
{
    public static bool IsUnavailable(Exception e) => e switch
    {
        PostgresException pg => IsUnavailableState(pg.SqlState),
        // Not a server error: connection refused or reset, timeout, pool exhausted, broken connector.
        NpgsqlException => true,
        SocketException or IOException or TimeoutException => true,
        // Npgsql reports a connector that broke under a command this way.
        InvalidOperationException ioe when ioe.Source == "Npgsql" => true,
        _ => false,
    };

    /// <summary>
    /// Refusals of a broker that was admitted at its start: its password rotated or revoked (class 28), its database
    /// dropped (3D000), its privileges revoked (42501). At the start they are configuration errors; once serving they
    /// are an outage that an operator ends, so requests answer 503 and /readyz says not ready, never 500, and the
    /// broker recovers by itself once the credentials work again.
    /// </summary>
    public static bool IsRefusedWhileServing(Exception e) =>
        e is PostgresException pg && (pg.SqlState.StartsWith("28", StringComparison.Ordinal) || pg.SqlState is "3D000" or "42501");

    /// <summary>A one-line description: the failure kind and SQLSTATE, never the connection string.</summary>
    public static string Describe(Exception e) => e switch
    {
        PostgresException pg => $"PostgreSQL answered {pg.SqlState}",
        NpgsqlException { InnerException: { } inner } => $"PostgreSQL unreachable ({inner.GetType().Name})",
        _ => $"PostgreSQL unreachable ({e.GetType().Name})",
    };

    /// <summary>
    /// SQLSTATE classes 08 (connection), 53 (insufficient resources), 57 (operator intervention: shutdown, crash,
    /// cannot connect now), 58 (system error); 40001/40P01 (serialization, deadlock); 25006 (read-only: a failover
    /// left us on a standby).
    /// </summary>
    public static bool IsUnavailableState(string state) =>
        state.StartsWith("08", StringComparison.Ordinal) || state.StartsWith("53", StringComparison.Ordinal)
        || state.StartsWith("57", StringComparison.Ordinal) || state.StartsWith("58", StringComparison.Ordinal)
        || state is "40001" or "40P01" or "25006";
}
