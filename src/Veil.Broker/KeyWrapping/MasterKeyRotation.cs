using Veil.Broker.Audit;
using Veil.Broker.Secrets;
using Veil.Broker.Storage;

namespace Veil.Broker.KeyWrapping;

/// <summary>What a rotation did: rows re-wrapped now, rows found already under the target key, rows that went meanwhile.</summary>
public sealed record RotationResult(string TargetKeyId, int Rewrapped, int AlreadyCurrent, int Vanished)
{
    public int Seen => Rewrapped + AlreadyCurrent + Vanished;
}

/// <summary>
/// Re-wraps every stored data key under <see cref="MasterKey.Primary"/>, row by row in name order. Each row is
/// replaced on its own, only while it still holds what was read (a broker's concurrent write wins, and the row is
/// read again), and a row records the key that wraps it: an interrupted run leaves every row whole under one key
/// or the other, and the next run skips the rows already done. Values and their ciphertext stay as they are; data
/// keys exist in memory only. Start, end and interruption are AdminChange audit rows.
/// </summary>
internal static class MasterKeyRotation
{
    public const int DefaultPageSize = 100;
    public const string Action = "rotate-master-key";
    private const int MaxAttemptsPerRow = 5;

    /// <param name="afterRow">Called after each row with the progress so far (the CLI's progress; tests interrupt from it).</param>
    public static async Task<RotationResult> RunAsync(IBrokerStore store, MasterKey keys, AuditLog audit, string actor, Action<RotationResult>? afterRow, CancellationToken ct, int pageSize = DefaultPageSize)
    {
        var target = keys.Primary.KeyId;
        await audit.RecordAsync(AuditKind.AdminChange, actor, Action, null, null, AuditLog.Allowed,
            $"started: re-wrapping stored data keys under '{target}' (rows may be under {string.Join(", ", keys.KeyIds.Skip(1).Select(k => $"'{k}'"))})", ct).ConfigureAwait(false);
        var result = new RotationResult(target, 0, 0, 0);
        try
        {
            string? after = null;
            while (true)
            {
                var page = await store.ListSealedResourcesAsync(after, pageSize, ct).ConfigureAwait(false);
                foreach (var (name, stored) in page)
                {
                    ct.ThrowIfCancellationRequested();
                    result = await RotateRowAsync(store, keys, name, stored, result, ct).ConfigureAwait(false);
                    afterRow?.Invoke(result);
                }

                if (page.Count < pageSize)
                {
                    break;
                }

                after = page[^1].Name;
            }
        }
        catch (OperationCanceledException)
        {
            await audit.RecordAsync(AuditKind.AdminChange, actor, Action, null, null, AuditLog.Denied,
                $"interrupted after {result.Seen} rows ({result.Rewrapped} re-wrapped under '{target}'); run it again to continue", CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        await audit.RecordAsync(AuditKind.AdminChange, actor, Action, null, null, AuditLog.Allowed,
            $"completed: {result.Rewrapped} re-wrapped under '{target}', {result.AlreadyCurrent} already under it, {result.Vanished} deleted meanwhile", CancellationToken.None).ConfigureAwait(false);
        return result;
    }

    private static async Task<RotationResult> RotateRowAsync(IBrokerStore store, MasterKey keys, string name, byte[] stored, RotationResult result, CancellationToken ct)
    {
        for (var attempt = 0; attempt < MaxAttemptsPerRow; attempt++)
        {
            var replacement = await keys.RewrapAsync(stored, name, ct).ConfigureAwait(false);
            if (replacement is null)
            {
                return result with { AlreadyCurrent = result.AlreadyCurrent + 1 };
            }

            if (await store.ReplaceSealedValueAsync(name, stored, replacement, ct).ConfigureAwait(false))
            {
                return result with { Rewrapped = result.Rewrapped + 1 };
            }

            // Written or deleted since it was read: look again.
            if (await store.GetResourceAsync(name, ct).ConfigureAwait(false) is not { } now)
            {
                return result with { Vanished = result.Vanished + 1 };
            }

            stored = now;
        }

        throw new InvalidOperationException($"resource '{name}' kept changing during the rotation ({MaxAttemptsPerRow} attempts); run the rotation again");
    }
}
