namespace Veil.Broker.Storage;

/// <summary>A stored resource's metadata (never its value).</summary>
internal sealed record ResourceInfo(string Name, DateTimeOffset UpdatedAt);

/// <summary>
/// One audit record: who did what to which resource, with which evidence, and why it was allowed or denied.
/// <see cref="Subject"/> is the authenticated identity (an admin token's <c>sub</c>) or, for callers without one, the
/// actor (<c>client</c>, <c>tee:snp</c>, <c>anonymous</c>); <see cref="Repository"/> is the KBS repository the row
/// concerns, if any, so that a tenant's audit reads only its own rows.
/// </summary>
internal sealed record AuditEntry(
    DateTimeOffset At, string Actor, string Action, string? Resource, string? EvidenceDigest, string Outcome, string Reason,
    AuditKind Kind = AuditKind.Decision, string? Subject = null, string? Repository = null)
{
    /// <summary>The subject as stored: the actor when no identity was proven.</summary>
    public string SubjectOrActor => Subject ?? Actor;

    /// <summary>Kept for the whole retention window, never pruned by the size cap: releases and admin changes.</summary>
    public bool Retained => Kind is AuditKind.Release or AuditKind.AdminChange;
}

/// <summary>
/// Everything the policy engine is built from, read in one snapshot, with the configuration version it had: every
/// policy or reference-value write increments the version, so a replica knows whether what it runs is current.
/// </summary>
internal sealed record PolicySnapshot(
    long Version,
    IReadOnlyList<(string Id, string Body)> AttestationPolicies,
    IReadOnlyList<(string Id, string Body)> ResourcePolicies,
    IReadOnlyList<(string Message, DateTimeOffset AddedAt)> ReferenceValues);

/// <summary>
/// Persistent broker state. Resource values arrive already sealed under the master key. Every write is durable
/// when the call returns (the HTTP 2xx is sent only after that). Two implementations: SQLite (embedded, one
/// replica) and PostgreSQL (shared by every replica). A store that cannot be reached throws
/// <see cref="StoreUnavailableException"/>, never a driver exception.
/// </summary>
internal interface IBrokerStore
{
    /// <summary><c>sqlite</c> or <c>postgresql</c>, for logs and metrics.</summary>
    string Kind { get; }

    Task PutResourceAsync(string name, byte[] sealedValue, DateTimeOffset at, CancellationToken ct);

    Task<byte[]?> GetResourceAsync(string name, CancellationToken ct);

    Task<bool> DeleteResourceAsync(string name, CancellationToken ct);

    Task<IReadOnlyList<ResourceInfo>> ListResourcesAsync(CancellationToken ct);

    /// <summary>At most <paramref name="limit"/> resources with their sealed values, in name order after <paramref name="after"/>: the pages of a master-key rotation.</summary>
    Task<IReadOnlyList<(string Name, byte[] SealedValue)>> ListSealedResourcesAsync(string? after, int limit, CancellationToken ct);

    /// <summary>
    /// Replaces a sealed value only while it is still <paramref name="expected"/>, so a write that came in meanwhile
    /// wins; <c>updated_at</c> stays (the value is the same, only its wrapping changed). False when it changed or went.
    /// </summary>
    Task<bool> ReplaceSealedValueAsync(string name, byte[] expected, byte[] replacement, CancellationToken ct);

    Task AppendAuditAsync(AuditEntry entry, CancellationToken ct);

    /// <summary>Appends several entries in one transaction (one disk flush): the audit log's group commit.</summary>
    Task AppendAuditBatchAsync(IReadOnlyList<AuditEntry> entries, CancellationToken ct);

    Task<IReadOnlyList<AuditEntry>> ListAuditAsync(int limit, CancellationToken ct);

    /// <summary>
    /// The newest <paramref name="limit"/> rows, newest first; with <paramref name="repositories"/>, only rows of
    /// those repositories (a tenant's view: rows of no repository, such as attestation-policy changes, are not theirs).
    /// </summary>
    Task<IReadOnlyList<AuditEntry>> ListAuditAsync(int limit, IReadOnlyCollection<string>? repositories, CancellationToken ct);

    /// <summary>
    /// Deletes audit rows older than <see cref="AuditPrune.Before"/>, then the oldest rows that are not
    /// <see cref="AuditEntry.Retained"/> beyond the newest <see cref="AuditPrune.KeepPrunable"/>; returns how many went.
    /// </summary>
    Task<int> PruneAuditAsync(AuditPrune prune, CancellationToken ct);

    /// <summary>Stores a policy and returns the configuration version this write created.</summary>
    Task<long> PutPolicyAsync(string kind, string id, string body, DateTimeOffset at, CancellationToken ct);

    Task<IReadOnlyList<string>> ListPolicyIdsAsync(string kind, CancellationToken ct);

    /// <summary>Every stored policy of a kind (<c>attestation</c>, <c>resource</c>) with its text.</summary>
    Task<IReadOnlyList<(string Id, string Body)>> ListPoliciesAsync(string kind, CancellationToken ct);

    /// <summary>Stores a reference-value document and returns the configuration version this write created.</summary>
    Task<long> PutReferenceValueAsync(string message, DateTimeOffset at, CancellationToken ct);

    /// <summary>Every reference-value document posted so far, oldest first (replayed into the store at start).</summary>
    Task<IReadOnlyList<(string Message, DateTimeOffset AddedAt)>> ListReferenceValuesAsync(CancellationToken ct);

    /// <summary>Policies, resource policy and reference values with their version, consistent with each other.</summary>
    Task<PolicySnapshot> ReadPolicySnapshotAsync(CancellationToken ct);

    /// <summary>The configuration version now (cheap: replicas compare it with the one they run).</summary>
    Task<long> ConfigVersionAsync(CancellationToken ct);

    /// <summary>One round trip to the store; throws <see cref="StoreUnavailableException"/> when it does not answer.</summary>
    Task PingAsync(CancellationToken ct);

    Task<int> SchemaVersionAsync(CancellationToken ct);
}
