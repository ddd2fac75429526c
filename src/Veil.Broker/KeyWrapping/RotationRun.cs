using Microsoft.Extensions.Logging.Abstractions;
using Veil.Broker.Audit;
using Veil.Broker.Secrets;
using Veil.Broker.Storage;

namespace Veil.Broker.KeyWrapping;

/// <summary>
/// One run of <c>veil broker rotate-master-key</c> from outside the broker: opens the keys (<paramref name="to"/> the
/// target, <paramref name="from"/> those rows may be under) and the store, then <see cref="MasterKeyRotation"/>.
/// </summary>
public static class RotationRun
{
    public static async Task<RotationResult> RunAsync(
        string dataDir, StoreLocation location, string to, IReadOnlyList<string> from, int pageSize, Action<RotationResult>? afterRow, Func<string, string?> environment, CancellationToken ct)
    {
        using var keys = Load(dataDir, location, to, from, environment);
        IBrokerStore store = location.IsPostgres
            ? await PostgresBrokerStore.OpenAsync(location, ct).ConfigureAwait(false)
            : await SqliteBrokerStore.OpenAsync(dataDir, ct).ConfigureAwait(false);
        try
        {
            await using var audit = new AuditLog(store, TimeProvider.System, NullLogger<AuditLog>.Instance);
            return await MasterKeyRotation.RunAsync(store, keys, audit, "admin", afterRow, ct, pageSize).ConfigureAwait(false);
        }
        finally
        {
            if (store is IAsyncDisposable d)
            {
                await d.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    internal static MasterKey Load(string dataDir, StoreLocation location, string to, IReadOnlyList<string> from, Func<string, string?> environment)
    {
        var opened = new List<IKeyWrapper>();
        try
        {
            opened.Add(MasterKeySpec.Open(to, "--to", dataDir, environment, location.IsPostgres));
            foreach (var spec in from)
            {
                opened.Add(MasterKeySpec.Open(spec, "--from", dataDir, environment, location.IsPostgres));
            }

            return new MasterKey(opened[0], opened.Skip(1));
        }
        catch
        {
            opened.ForEach(k => k.Dispose());
            throw;
        }
    }
}
