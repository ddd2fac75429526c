using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Veil.Broker.Storage;

namespace Veil.Broker.Appraisal;

/// <summary>
/// Keeps this replica's policies, resource policy and reference values equal to the shared store's: LISTENs on
/// <see cref="PostgresMigrations.ConfigChannel"/> (each write NOTIFYs its new version at commit) and reloads when
/// a version is newer than the one in effect. After any (re)connect it reloads too, since notifications sent while
/// it was away are lost; a slow poll of the version covers a connection that died silently. While it is not
/// listening the replica reports not ready (<c>/readyz</c>), so a load balancer stops sending it work.
/// </summary>
internal sealed partial class PolicySync(PostgresBrokerStore store, BrokerPolicies policies, BrokerOptions options, ILogger<PolicySync> logger) : BackgroundService
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(2);
    private volatile bool _listening;
    private long _notified;

    /// <summary>Subscribed to configuration changes and caught up with the store as of the subscription.</summary>
    public bool Listening => _listening;

    /// <summary>Changes applied from the store (another replica's write, or a catch-up after a reconnect).</summary>
    public long Reloads { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backoff = TimeSpan.FromMilliseconds(100);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var conn = new NpgsqlConnection(store.ListenerConnectionString);
                await conn.OpenAsync(stoppingToken).ConfigureAwait(false);
                conn.Notification += (_, e) =>
                {
                    if (long.TryParse(e.Payload, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v))
                    {
                        InterlockedMax(ref _notified, v);
                    }
                };
                await using (var listen = new NpgsqlCommand("LISTEN " + PostgresMigrations.ConfigChannel + ";", conn))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken).ConfigureAwait(false);
                }

                // Subscribed first, then caught up: a write committed in between is either in this reload or notified.
                await ApplyAsync(null, stoppingToken).ConfigureAwait(false);
                _listening = true;
                backoff = TimeSpan.FromMilliseconds(100);
                LogListening(logger, policies.Version);
                while (!stoppingToken.IsCancellationRequested)
                {
                    var notified = await conn.WaitAsync(options.ConfigPollInterval, stoppingToken).ConfigureAwait(false);
                    var known = notified ? Interlocked.Read(ref _notified) : await store.ConfigVersionAsync(stoppingToken).ConfigureAwait(false);
                    await ApplyAsync(known, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
#pragma warning disable CA1031 // any failure of the subscription means: not ready, reconnect, reload
            catch (Exception e)
#pragma warning restore CA1031
            {
                if (_listening)
                {
                    LogLost(logger, PostgresFaults.IsUnavailable(e) || e is StoreUnavailableException ? PostgresFaults.Describe(e.InnerException ?? e) : e.GetType().Name);
                }

                _listening = false;
                try
                {
                    await Task.Delay(backoff, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }

        _listening = false;
    }

    private async Task ApplyAsync(long? known, CancellationToken ct)
    {
        var before = policies.Version;
        if (await policies.RefreshAsync(known, ct).ConfigureAwait(false))
        {
            Reloads++;
            LogReloaded(logger, before, policies.Version);
        }
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Interlocked.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "configuration changes: listening (version {Version} in effect)")]
    private static partial void LogListening(ILogger logger, long version);

    [LoggerMessage(Level = LogLevel.Information, Message = "configuration reloaded from the store: version {From} -> {To}")]
    private static partial void LogReloaded(ILogger logger, long from, long to);

    [LoggerMessage(Level = LogLevel.Warning, Message = "configuration changes: subscription lost ({Why}); not ready until it is back")]
    private static partial void LogLost(ILogger logger, string why);
}
