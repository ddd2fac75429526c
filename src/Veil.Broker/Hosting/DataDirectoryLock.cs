namespace Veil.Broker.Hosting;

/// <summary>
/// A SQLite store has exactly one broker: its configuration version, sessions and nonces live in that process's
/// memory, so a second broker on the same data directory would keep releasing under a policy the first one replaced
/// and accept a nonce the first one consumed. SQLite itself lets both open the file (WAL), so the broker holds an
/// exclusive lock on <c>DATA_DIR/broker.lock</c> for as long as it serves; the kernel drops it when the process ends
/// however it ends (kill -9 included), so a crashed broker never leaves the directory locked.
/// </summary>
internal sealed class DataDirectoryLock : IDisposable
{
    public const string FileName = "broker.lock";
    private readonly FileStream _file;

    private DataDirectoryLock(FileStream file) => _file = file;

    public static DataDirectoryLock Acquire(string dataDir)
    {
        var path = Path.Combine(dataDir, FileName);
        // FileShare.None is .NET's exclusive advisory lock on Unix (flock LOCK_EX | LOCK_NB), taken on open: a second
        // open fails at once instead of waiting. Veil is the only writer of this file, and it stays empty.
        var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            return new DataDirectoryLock(new FileStream(path, options));
        }
        catch (IOException)
        {
            throw new BrokerConfigurationException(
                $"--data-dir {dataDir} is in use by another broker (it holds {path}): a SQLite store serves one broker; stop the other one, or run replicas on a PostgreSQL store (docs/replicas.md)");
        }
        catch (UnauthorizedAccessException)
        {
            throw new BrokerConfigurationException($"--data-dir {dataDir}: cannot open {path} (permissions)");
        }
    }

    public void Dispose() => _file.Dispose();
}
