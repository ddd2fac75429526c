namespace Veil.Broker.Storage;

/// <summary>A stored resource's metadata (never its value).</summary>
internal sealed record ResourceInfo(string Name, DateTimeOffset UpdatedAt);

/// <summary>One audit record: who did what to which resource, with which evidence, and why it was allowed or denied.</summary>
internal sealed record AuditEntry(DateTimeOffset At, string Actor, string Action, string? Resource, string? EvidenceDigest, string Outcome, string Reason, AuditKind Kind = AuditKind.Decision)
{
    /// <summary>Kept for the whole retention window, never pruned by the size cap: releases and admin changes.</summary>
    public bool Retained => Kind is AuditKind.Release or AuditKind.AdminChange;
}

/// <summary>
/// Persistent broker state. Resource values arrive already sealed under the master key. Every write is durable
/// when the call returns (the HTTP 2xx is sent only after that). SQLite today; PostgreSQL later.
/// </summary>
internal interface IBrokerStore
{
    Task PutResourceAsync(string name, byte[] sealedValue, DateTimeOffset at, CancellationToken ct);

    Task<byte[]?> GetResourceAsync(string name, CancellationToken ct);

    Task<bool> DeleteResourceAsync(string name, CancellationToken ct);

    Task<IReadOnlyList<ResourceInfo>> ListResourcesAsync(CancellationToken ct);

    Task AppendAuditAsync(AuditEntry entry, CancellationToken ct);

    /// <summary>Appends several entries in one transaction (one disk flush): the audit log's group commit.</summary>
    Task AppendAuditBatchAsync(IReadOnlyList<AuditEntry> entries, CancellationToken ct);

    Task<IReadOnlyList<AuditEntry>> ListAuditAsync(int limit, CancellationToken ct);

    /// <summary>
    /// Deletes audit rows older than <see cref="AuditPrune.Before"/>, then the oldest rows that are not
    /// <see cref="AuditEntry.Retained"/> beyond the newest <see cref="AuditPrune.KeepPrunable"/>; returns how many went.
    /// </summary>
    Task<int> PruneAuditAsync(AuditPrune prune, CancellationToken ct);

    Task PutPolicyAsync(string kind, string id, string body, DateTimeOffset at, CancellationToken ct);

    Task<IReadOnlyList<string>> ListPolicyIdsAsync(string kind, CancellationToken ct);

    /// <summary>Every stored policy of a kind (<c>attestation</c>, <c>resource</c>) with its text.</summary>
    Task<IReadOnlyList<(string Id, string Body)>> ListPoliciesAsync(string kind, CancellationToken ct);

    Task PutReferenceValueAsync(string message, DateTimeOffset at, CancellationToken ct);

    /// <summary>Every reference-value document posted so far, oldest first (replayed into the store at start).</summary>
    Task<IReadOnlyList<(string Message, DateTimeOffset AddedAt)>> ListReferenceValuesAsync(CancellationToken ct);

    Task<int> SchemaVersionAsync(CancellationToken ct);
}
