using Veil.Broker.Audit;
using Veil.Broker.Storage;

namespace Veil.Broker.Admin;

/// <summary>
/// Role bindings are config, not API: they change when someone edits the config and restarts. So that such a change is
/// still on record, each start compares the bindings with the last recorded ones (kept in the store, kind
/// <see cref="Kind"/>) and, when they differ, writes an AdminChange audit row naming what changed and the new digest.
/// </summary>
internal static class RoleBindingsHistory
{
    public const string Kind = "role-bindings";
    private const string Id = "current";

    /// <summary>True when the bindings changed (and the change was recorded).</summary>
    public static async Task<bool> RecordAsync(IBrokerStore store, RoleBindings bindings, TimeProvider time, CancellationToken ct)
    {
        var previous = (await store.ListPoliciesAsync(Kind, ct).ConfigureAwait(false)).Where(p => p.Id == Id).Select(p => p.Body).FirstOrDefault();
        var current = bindings.Canonical;
        if (previous == current || (previous is null && bindings.Count == 0))
        {
            return false;
        }

        var now = time.GetUtcNow();
        await store.PutPolicyAsync(Kind, Id, current, now, ct).ConfigureAwait(false);
        await store.AppendAuditAsync(AuditBounds.Bound(new AuditEntry(now, "broker", "role-bindings", null, null, AuditLog.Allowed,
            $"admin-roles changed at start ({bindings.DescribeChangeFrom(previous)}); now {bindings.Count} subjects, {bindings.Digest}",
            AuditKind.AdminChange, "broker-config")), ct).ConfigureAwait(false);
        return true;
    }
}
