using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Veil.Broker.Metrics;
using Veil.Broker.Storage;

namespace Veil.Broker.Audit;

/// <summary>
/// Records every release and denial (and every admin change) in the store, and mirrors a one-line summary to
/// the log. Entries name who, which resource, which evidence digest and why; never a value, key or token.
/// A call returns only once its entry is on disk, so a release is never answered before it is audited; entries
/// arriving together share one transaction (group commit), which keeps one disk flush per batch, not per entry.
/// Every row is bounded (<see cref="AuditBounds"/>), and unauthenticated refusals past a per-minute budget are
/// counted into summary rows (<see cref="RefusalAggregator"/>) instead of one row and one log line each.
/// </summary>
internal sealed partial class AuditLog : IAsyncDisposable
{
    public const string Allowed = "allowed";
    public const string Denied = "denied";
    private const int MaxBatch = 256;

    /// <summary>
    /// Entries waiting for the writer at most: past it a request waits to enqueue (it would wait for the commit anyway),
    /// so a stalled disk holds at most this many bounded rows (~4 MiB) in memory, not one per request in flight.
    /// </summary>
    internal const int QueueCapacity = 4096;

    private readonly IBrokerStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<AuditLog> _logger;
    private readonly BrokerMetrics? _metrics;
    private readonly RefusalAggregator _aggregator;
    private readonly ITimer _flushTimer;
    private readonly Channel<(AuditEntry Entry, TaskCompletionSource? Done)> _queue =
        Channel.CreateBounded<(AuditEntry, TaskCompletionSource?)>(new BoundedChannelOptions(QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly Task _writer;

    public AuditLog(IBrokerStore store, TimeProvider time, ILogger<AuditLog> logger, BrokerOptions? options = null, BrokerMetrics? metrics = null)
    {
        _store = store;
        _time = time;
        _logger = logger;
        _metrics = metrics;
        var window = TimeSpan.FromMinutes(1);
        _aggregator = new RefusalAggregator(options?.AuditUnauthenticatedPerMinute ?? BrokerOptions.DefaultAuditUnauthenticatedPerMinute, window);
        _writer = Task.Run(WriteLoopAsync);
        // Summaries of a quiet window are written when it ends, not only when the next refusal arrives.
        _flushTimer = time.CreateTimer(_ => Enqueue(_aggregator.Flush(_time.GetUtcNow())), null, window, window);
    }

    /// <summary>Records an entry of <paramref name="kind"/>; waits until it is on disk, unless it was only counted.</summary>
    public Task RecordAsync(AuditKind kind, string actor, string action, string? resource, string? evidenceDigest, string outcome, string reason, CancellationToken ct) =>
        RecordAsync(new AuditEntry(_time.GetUtcNow(), actor, action, resource, evidenceDigest, outcome, reason, kind), ct);

    /// <summary>
    /// Records an entry (its time is taken now, whatever it carries) naming the subject and repository; waits until it
    /// is on disk, unless it was an unauthenticated refusal only counted.
    /// </summary>
    public Task RecordAsync(AuditEntry entry, CancellationToken ct)
    {
        entry = AuditBounds.Bound(entry with { At = _time.GetUtcNow() });
        var kind = entry.Kind;
        if (kind == AuditKind.Unauthenticated)
        {
            var summaries = new List<AuditEntry>();
            var admitted = _aggregator.Admit(entry, summaries);
            Enqueue(summaries);
            if (!admitted)
            {
                _metrics?.AuditAggregated();
                return Task.CompletedTask;
            }
        }

        return WriteAsync(entry, ct);
    }

    public async ValueTask DisposeAsync()
    {
        await _flushTimer.DisposeAsync().ConfigureAwait(false);
        Enqueue(_aggregator.Flush(_time.GetUtcNow(), force: true));
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }

    /// <summary>Entries enqueued and not yet taken by the writer (tests).</summary>
    internal int Queued => _queue.Reader.Count;

    private async Task WriteAsync(AuditEntry entry, CancellationToken ct)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            // Completes at once while the queue has room; past the cap the request waits here.
            await _queue.Writer.WriteAsync((entry, done), ct).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException("audit log is closed");
        }

        Log(entry);
        await done.Task.WaitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Summary rows: written in a coming batch, nobody waits for them. A full queue does not drop them: the few a window
    /// produces (one per actor and action past the budget) are handed over as soon as there is room.
    /// </summary>
    private void Enqueue(List<AuditEntry> entries)
    {
        foreach (var e in entries)
        {
            if (_queue.Writer.TryWrite((e, null)))
            {
                Log(e);
            }
            else
            {
                _ = EnqueueLaterAsync(e);
            }
        }
    }

    private async Task EnqueueLaterAsync(AuditEntry e)
    {
        try
        {
            await _queue.Writer.WriteAsync((e, null)).ConfigureAwait(false);
            Log(e);
        }
        catch (ChannelClosedException)
        {
            // The broker stopped while the queue was still full: this one count goes with the process (everything that
            // was queued is written before the writer ends).
        }
    }

    private void Log(AuditEntry e) => LogAudit(_logger, e.Action, e.Outcome, e.Actor, e.SubjectOrActor, e.Resource ?? "-", e.EvidenceDigest ?? "-", e.Reason);

    private async Task WriteLoopAsync()
    {
        var batch = new List<(AuditEntry Entry, TaskCompletionSource? Done)>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            try
            {
                await _store.AppendAuditBatchAsync(batch.Select(b => b.Entry).ToList(), CancellationToken.None).ConfigureAwait(false);
                foreach (var b in batch)
                {
                    b.Done?.TrySetResult();
                }
            }
#pragma warning disable CA1031 // the failure is handed to every waiting request, which then fails closed
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogWriteFailed(_logger, e.GetType().Name, batch.Count);
                foreach (var b in batch)
                {
                    b.Done?.TrySetException(new InvalidOperationException("audit log write failed; the request is refused", e));
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "audit {Action} {Outcome} actor={Actor} subject={Subject} resource={Resource} evidence={EvidenceDigest}: {Reason}")]
    private static partial void LogAudit(ILogger logger, string action, string outcome, string actor, string subject, string resource, string evidenceDigest, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "audit write failed ({Error}) for {Count} entries")]
    private static partial void LogWriteFailed(ILogger logger, string error, int count);
}
