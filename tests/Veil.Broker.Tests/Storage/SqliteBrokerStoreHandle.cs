using Veil.Broker.Storage;

namespace Veil.Broker.Tests.Storage;

/// <summary>Opens a broker's store directly (a second connection to the same WAL database) for assertions.</summary>
internal sealed class SqliteBrokerStoreHandle : IAsyncDisposable
{
    private SqliteBrokerStoreHandle(SqliteBrokerStore store)
    {
        Store = store;
    }

    public SqliteBrokerStore Store { get; }

    public static async Task<SqliteBrokerStoreHandle> OpenAsync(string dataDir) =>
        new(await SqliteBrokerStore.OpenAsync(dataDir, CancellationToken.None));

    public ValueTask DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        return ValueTask.CompletedTask;
    }
}
