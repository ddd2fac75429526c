using Microsoft.Data.Sqlite;

namespace Veil.Broker.Storage;

/// <summary>
/// Which SQLite failures mean "the store cannot be used right now" (answer 503, not ready) rather than a bug: the
/// file or the disk under it failed, not the statement. Result codes: https://sqlite.org/rescode.html.
/// </summary>
internal static class SqliteFaults
{
    private const int Busy = 5, Locked = 6, NoMem = 7, ReadOnly = 8, IoErr = 10, Corrupt = 11, Full = 13, CantOpen = 14, Protocol = 15, NotADb = 26;

    public static bool IsUnavailable(SqliteException e) => Primary(e) is Busy or Locked or NoMem or ReadOnly or IoErr or Corrupt or Full or CantOpen or Protocol or NotADb;

    /// <summary>One line naming the result code, for logs and /readyz (SQLite's messages may name paths; this does not).</summary>
    public static string Describe(SqliteException e) => Primary(e) switch
    {
        Busy or Locked => "SQLite store locked past the timeout",
        NoMem => "SQLite out of memory",
        ReadOnly => "SQLite store is read-only (the file or its file system)",
        IoErr => "SQLite disk I/O error",
        Corrupt => "SQLite store file is corrupt",
        Full => "SQLite store's disk is full",
        CantOpen => "SQLite store file cannot be opened",
        Protocol => "SQLite locking protocol failed",
        NotADb => "SQLite store file is not a database",
        var code => $"SQLite error {code}",
    };

    /// <summary>What an operator does about a fault found when the broker starts.</summary>
    public static string Remedy(SqliteException e) => Primary(e) switch
    {
        Busy or Locked or Protocol => "another process holds it locked (a running rotate-master-key, or a tool with the file open); let it finish or stop it first",
        Corrupt or NotADb => "restore it from a backup, or move it away to start with an empty store",
        ReadOnly or CantOpen => "check the file's and the directory's permissions and that the volume is mounted read-write",
        Full => "free space on its volume",
        _ => "check the file and the disk under it",
    };

    // Extended result codes carry the primary code in their low byte.
    private static int Primary(SqliteException e) => e.SqliteErrorCode & 0xFF;
}
