using Veil.Broker.Appraisal;

namespace Veil.Broker.Storage;

/// <summary>
/// Readiness for <c>/readyz</c>: the store answers, and (PostgreSQL) this replica follows configuration changes.
/// One check at a time, its answer reused for a second, so a flood of probes costs the store nothing extra.
/// </summary>
internal sealed class StoreReadiness(IBrokerStore store, PolicySync? sync, TimeProvider time)
{
    private static readonly TimeSpan ReuseFor = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(2);
    private readonly Lock _gate = new();
    private (DateTimeOffset At, Task<(bool Ready, string Detail)> Check)? _last;

    public Task<(bool Ready, string Detail)> CheckAsync()
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (_last is { } last && (!last.Check.IsCompleted || now - last.At < ReuseFor))
            {
                return last.Check;
            }

            var check = RunAsync();
            _last = (now, check);
            return check;
        }
    }

    private async Task<(bool Ready, string Detail)> RunAsync()
    {
        using var timeout = new CancellationTokenSource(PingTimeout);
        try
        {
            await store.PingAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is StoreUnavailableException or OperationCanceledException)
        {
            return (false, $"the {store.Kind} store does not answer ({(e is StoreUnavailableException ? e.Message : "timed out")})");
        }

        if (sync is { Listening: false })
        {
            return (false, "not yet following configuration changes (reconnecting to the store's notifications)");
        }

        return (true, "ready");
    }
}
