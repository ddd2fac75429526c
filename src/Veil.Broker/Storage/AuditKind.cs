namespace Veil.Broker.Storage;

/// <summary>
/// What an audit row records, which decides how long it is kept. <see cref="Release"/> and <see cref="AdminChange"/>
/// rows are retained for the whole retention window whatever the size cap; the others are pruned oldest first
/// once the cap is reached.
/// </summary>
internal enum AuditKind
{
    /// <summary>An outcome of an attested client (an attestation, a release denied by policy).</summary>
    Decision,

    /// <summary>A resource released to a TEE.</summary>
    Release,

    /// <summary>An authenticated admin call (a change, or its refusal on validation).</summary>
    AdminChange,

    /// <summary>A refusal of a caller who proved nothing (no or bad token, failed evidence): aggregated past a budget.</summary>
    Unauthenticated,

    /// <summary>How many unauthenticated refusals were counted instead of recorded one by one.</summary>
    Summary,
}

/// <summary>How the store prunes the audit table (see <see cref="IBrokerStore.PruneAuditAsync"/>).</summary>
/// <param name="Before">Every row older than this goes, whatever its kind (the retention window).</param>
/// <param name="KeepPrunable">Rows that are not retained (see <see cref="AuditEntry.Retained"/>) beyond the newest this many go.</param>
internal sealed record AuditPrune(DateTimeOffset Before, int KeepPrunable);
