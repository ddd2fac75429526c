using Microsoft.Extensions.Logging;
using Veil.Broker.Storage;

namespace Veil.Broker.Audit;

/// <summary>
/// Records every release and denial (and every admin change) in the store, and mirrors a one-line summary to
/// the log. Entries name who, which resource, which evidence digest and why; never a value, key or token.
/// </summary>
internal sealed partial class AuditLog(IBrokerStore store, TimeProvider time, ILogger<AuditLog> logger)
{
    public const string Allowed = "allowed";
    public const string Denied = "denied";

    public async Task RecordAsync(string actor, string action, string? resource, string? evidenceDigest, string outcome, string reason, CancellationToken ct)
    {
        await store.AppendAuditAsync(new AuditEntry(time.GetUtcNow(), actor, action, resource, evidenceDigest, outcome, reason), ct).ConfigureAwait(false);
        LogAudit(logger, action, outcome, actor, resource ?? "-", evidenceDigest ?? "-", reason);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "audit {Action} {Outcome} actor={Actor} resource={Resource} evidence={EvidenceDigest}: {Reason}")]
    private static partial void LogAudit(ILogger logger, string action, string outcome, string actor, string resource, string evidenceDigest, string reason);
}
