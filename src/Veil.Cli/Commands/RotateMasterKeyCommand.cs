using System.CommandLine;
using Veil.Broker.KeyWrapping;
using Veil.Broker.Storage;

namespace Veil.Cli.Commands;

/// <summary>
/// <c>veil broker rotate-master-key --to SPEC [--from SPEC]…</c>: re-wraps every stored data key under the key
/// <c>--to</c> names, while brokers keep serving (configured with both keys). Resumable: run it again after an
/// interruption. Prints counts and key ids only.
/// </summary>
internal static class RotateMasterKeyCommand
{
    public static Command Create()
    {
        var dataDir = new Option<string>("--data-dir") { Description = "Data directory (default ./veil-data); holds master.key for 'file'", DefaultValueFactory = _ => "./veil-data" };
        var store = new Option<string?>("--store") { Description = $"Store: sqlite (default, in the data directory) or a postgresql:// URL; also ${StoreLocation.EnvironmentVariable}" };
        var to = new Option<string>("--to") { Description = "The new master key: file (DATA_DIR/master.key or VEIL_MASTER_KEY), file:PATH, or pkcs11:token=…;object=…?module-path=…&pin-source=file:…", Required = true };
        var from = new Option<string[]?>("--from") { Description = "A key rows may be wrapped under now (repeatable; default: file)", AllowMultipleArgumentsPerToken = true };
        var batch = new Option<int>("--batch") { Description = "Rows read per page (default 100)", DefaultValueFactory = _ => 100 };
        var cmd = new Command("rotate-master-key", "Re-wrap every stored data key under a new master key (resumable; values unchanged; no downtime).") { dataDir, store, to, from, batch };
        cmd.SetAction((parse, ct) => BrokerCommands.GuardAsync(parse, async () =>
        {
            if (parse.GetValue(batch) is < 1 or > 10_000)
            {
                throw new CliUsageException("--batch: must be 1 to 10000");
            }

            var dir = parse.GetValue(dataDir)!;
            var location = StoreLocation.Resolve(parse.GetValue(store), Environment.GetEnvironmentVariable, StoreLocation.Sqlite);
            var previous = parse.GetValue(from) is { Length: > 0 } f ? f : ["file"];
            var output = parse.InvocationConfiguration.Output;
            var last = DateTime.UtcNow;
            try
            {
                var result = await RotationRun.RunAsync(dir, location, parse.GetValue(to)!, previous, parse.GetValue(batch), r =>
                {
                    if (DateTime.UtcNow - last > TimeSpan.FromSeconds(2))
                    {
                        last = DateTime.UtcNow;
                        output.WriteLine($"rotate-master-key: {r.Seen} rows so far ({r.Rewrapped} re-wrapped)");
                    }
                }, Environment.GetEnvironmentVariable, ct).ConfigureAwait(false);
                output.WriteLine($"rotate-master-key: {result.Rewrapped} re-wrapped under '{result.TargetKeyId}', {result.AlreadyCurrent} already under it, {result.Vanished} deleted meanwhile");
                return ExitCodes.Ok;
            }
            catch (OperationCanceledException)
            {
                parse.InvocationConfiguration.Error.WriteLine("veil: rotate-master-key interrupted; every row is whole under one key or the other: run it again to continue");
                return ExitCodes.Failed;
            }
            catch (KeyBackendUnavailableException e)
            {
                parse.InvocationConfiguration.Error.WriteLine($"veil: rotate-master-key stopped: {e.Message}; run it again when the key is available");
                return ExitCodes.Failed;
            }
        }));
        return cmd;
    }
}
