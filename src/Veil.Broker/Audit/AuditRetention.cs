using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Veil.Broker.Storage;

namespace Veil.Broker.Audit;

/// <summary>
/// Keeps the audit table within its settings: rows older than the retention window go, and past the row cap the
/// oldest rows that are neither releases nor admin changes go; a release or admin change inside the window is never
/// dropped. Runs at start and then every <see cref="Interval"/>.
/// </summary>
internal sealed partial class AuditRetention(IBrokerStore store, TimeProvider time, BrokerOptions options, ILogger<AuditRetention> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(10);

    public async Task<int> PruneOnceAsync(CancellationToken ct)
    {
        var deleted = await store.PruneAuditAsync(new AuditPrune(time.GetUtcNow() - options.AuditRetention, options.AuditMaxRows), ct).ConfigureAwait(false);
        if (deleted > 0)
        {
            LogPruned(logger, deleted, options.AuditRetention.TotalDays, options.AuditMaxRows);
        }

        return deleted;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await PruneOnceAsync(stoppingToken).ConfigureAwait(false);
                await Task.Delay(Interval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // a failed prune is retried at the next interval; it never stops the broker
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogFailed(logger, e.GetType().Name);
                await Task.Delay(Interval, time, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "audit retention pruned {Count} rows (older than {Days} days, or past {MaxRows} rows that are not releases or admin changes)")]
    private static partial void LogPruned(ILogger logger, int count, double days, int maxRows);

    [LoggerMessage(Level = LogLevel.Warning, Message = "audit retention failed ({Error}); retried in 10 minutes")]
    private static partial void LogFailed(ILogger logger, string error);
}
