using System.CommandLine;
using Veil.Guest;
using Veil.Sealing;

namespace Veil.Cli.Commands;

/// <summary><c>veil seal</c> and <c>veil unseal</c>: sealed model files and folders (format: docs/sealed-format.md).</summary>
internal static class SealCommands
{
    public static Command Create()
    {
        var group = new Command("seal", "Seal a model file or folder with envelope encryption (AES-256-GCM chunks, wrapped data keys).");
        var path = new Argument<string>("path") { Description = "File or folder to seal" };
        var output = new Option<string>("--out") { Description = "Sealed file (for a file) or folder (for a folder) to create", Required = true };
        var keyId = new Option<string>("--key-id") { Description = "Broker resource path of the key-encryption key: repo/type/tag", Required = true };
        var kekFile = KekFileOption();
        var newKek = new Option<bool>("--new-kek") { Description = "Create --kek-file with a fresh random 32-byte key (refuses to overwrite)" };
        var broker = new Option<string?>("--broker") { Description = "Also store the key-encryption key in this broker as resource --key-id" };
        var adminToken = new Option<string?>("--admin-token") { Description = "File holding the broker's admin bearer token (with --broker)" };
        var threads = ThreadsOption();
        var chunk = new Option<int>("--chunk-size") { Description = "Chunk size in bytes (4096 … 67108864)", DefaultValueFactory = _ => SealedHeader.DefaultChunkSize };
        group.Add(path);
        group.Add(output);
        group.Add(keyId);
        group.Add(kekFile);
        group.Add(newKek);
        group.Add(broker);
        group.Add(adminToken);
        group.Add(threads);
        group.Add(chunk);
        group.SetAction((parse, ct) => CliErrors.GuardAsync(parse, () => RefusalsAsync(parse, async () =>
        {
            var source = parse.GetValue(path)!;
            var id = parse.GetValue(keyId)!;
            var chunkSize = parse.GetValue(chunk);
            if (chunkSize is < SealedHeader.MinChunkSize or > SealedHeader.MaxChunkSize)
            {
                throw new CliUsageException($"--chunk-size: {chunkSize} is outside {SealedHeader.MinChunkSize}..{SealedHeader.MaxChunkSize}");
            }

            try
            {
                SealedHeader.ValidateKeyId(id);
            }
            catch (SealingException e)
            {
                throw new CliUsageException("--key-id: " + e.Message, e);
            }

            var brokerUrl = parse.GetValue(broker);
            var kekPath = parse.GetValue(kekFile);
            if (brokerUrl is null && kekPath is null)
            {
                throw new CliUsageException("give --kek-file, or --broker with --admin-token");
            }

            var tokenFile = parse.GetValue(adminToken);
            if ((brokerUrl is null) != (tokenFile is null))
            {
                throw new CliUsageException("--broker and --admin-token go together");
            }

            var brokerUri = brokerUrl is null ? null : SealBroker.BrokerUri(brokerUrl);
            using var kek = kekPath is null ? KeyEncryptionKey.Generate() : LoadKek(kekPath, parse.GetValue(newKek));
            if (brokerUri is not null)
            {
                await SealBroker.PutKeyAsync(brokerUri, tokenFile!, id, kek, ct).ConfigureAwait(false);
                parse.InvocationConfiguration.Output.WriteLine($"stored a new key-encryption key in {brokerUri} as resource {id}");
            }

            var options = new SealOptions { Threads = Threads(parse.GetValue(threads)), ChunkSize = chunkSize };
            var o = parse.InvocationConfiguration.Output;
            var dest = parse.GetValue(output)!;
            if (Directory.Exists(source))
            {
                var total = SealedDirectory.ListFiles(source).Sum(f => new FileInfo(Path.Combine(source, f)).Length);
                var m = SealProgress.Run(o, "sealing", total, options, opt => SealedDirectory.Seal(source, dest, kek, id, opt));
                o.WriteLine($"sealed {m.Files.Count} files into {dest} (key id {id}, set {m.SetId})");
            }
            else if (File.Exists(source))
            {
                var h = SealProgress.Run(o, "sealing", new FileInfo(source).Length, options, opt => SealedFile.Seal(source, dest, kek, id, opt));
                o.WriteLine($"sealed {source} into {dest} ({h.ChunkCount} chunks, key id {id})");
            }
            else
            {
                throw new CliUsageException($"path: '{source}' is not a file or folder");
            }

            return ExitCodes.Ok;
        })));
        return group;
    }

    public static Command CreateUnseal()
    {
        var cmd = new Command("unseal", "Restore a sealed file or folder; nothing is left behind unless every chunk and the manifest verify.");
        var path = new Argument<string>("path") { Description = "Sealed file or sealed folder" };
        var output = new Option<string>("--out") { Description = "Folder to restore into: absent (built beside it, then renamed into place) or empty (e.g. a mount point)", Required = true };
        var kekFile = KekFileOption();
        var broker = new Option<string?>("--broker") { Description = "Get the key from this broker after attestation (KBS protocol 0.4.0)" };
        var tee = new Option<string>("--tee") { Description = "Evidence to present to the broker: auto|sample|snp|tdx", DefaultValueFactory = _ => "auto" };
        var gpu = new Option<string>("--gpu")
        {
            Description = "NVIDIA GPU evidence (chained into the CPU report; GPUs set ready after the key is released): auto|off|required",
            DefaultValueFactory = _ => "auto",
        };
        var cdh = new Option<string?>("--cdh")
        {
            Description = $"Get the key through the Confidential Containers guest's confidential-data-hub API, which attests with the guest's own agent (in a Kata CoCo pod; default {CdhKeyProvider.DefaultUrl})",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var readyFile = new Option<string?>("--ready-file")
        {
            Description = "Write this file (outside --out) once the tree is in place; the restored tree itself holds only the sealed files",
        };
        var threads = ThreadsOption();
        cmd.Add(path);
        cmd.Add(output);
        cmd.Add(readyFile);
        cmd.Add(kekFile);
        cmd.Add(broker);
        cmd.Add(cdh);
        cmd.Add(tee);
        cmd.Add(gpu);
        cmd.Add(threads);
        cmd.SetAction((parse, ct) => CliErrors.GuardAsync(parse, () => RefusalsAsync(parse, async () =>
        {
            var source = parse.GetValue(path)!;
            var target = parse.GetValue(output)!;
            var kekPath = parse.GetValue(kekFile);
            var brokerUrl = parse.GetValue(broker);
            var cdhUrl = parse.GetResult(cdh) is null ? null : parse.GetValue(cdh) ?? CdhKeyProvider.DefaultUrl;
            if ((kekPath is null ? 0 : 1) + (brokerUrl is null ? 0 : 1) + (cdhUrl is null ? 0 : 1) != 1)
            {
                throw new CliUsageException("give exactly one of --kek-file, --broker or --cdh");
            }

            if (brokerUrl is null && (parse.GetResult(tee) is { Implicit: false } || parse.GetResult(gpu) is { Implicit: false }))
            {
                throw new CliUsageException(cdhUrl is null
                    ? "--tee and --gpu choose the evidence sent to --broker; with --kek-file there is none"
                    : "--tee and --gpu choose the evidence sent to --broker; with --cdh the guest's attestation agent collects it");
            }

            var (teeName, gpuMode) = (parse.GetValue(tee)!, parse.GetValue(gpu)!);
            SealBroker.CheckEvidenceOptions(teeName, gpuMode);
            using var http = brokerUrl is not null ? Veil.Protocol.Client.KbsClient.CreateHttpClient(SealBroker.BrokerUri(brokerUrl))
                : cdhUrl is not null ? CdhKeyProvider.CreateHttpClient(CdhBase(cdhUrl))
                : null;
            var cpu = brokerUrl is null ? null : SealBroker.Evidence(teeName);
            using var gpus = brokerUrl is null ? null : SealBroker.Gpus(gpuMode);
            IKeyProvider keys = brokerUrl is not null ? new BrokerKeyProvider(http!, cpu!) { Devices = gpus is null ? [] : [gpus] }
                : cdhUrl is not null ? new CdhKeyProvider(http!)
                : new KekFileKeyProvider(kekPath!);
            var options = new SealOptions { Threads = Threads(parse.GetValue(threads)) };
            var o = parse.InvocationConfiguration.Output;
            if (!Directory.Exists(source) && !File.Exists(source))
            {
                throw new CliUsageException($"path: '{source}' is not a sealed file or folder");
            }

            var total = Directory.Exists(source)
                ? Directory.EnumerateFiles(source, "*" + SealedManifest.SealedSuffix, SearchOption.AllDirectories)
                    .Where(f => Path.GetFileName(f) != SealedManifest.FileName)
                    .Sum(f => SealedFile.ReadHeader(f).PlaintextLength)
                : SealedFile.ReadHeader(source).PlaintextLength;
            var result = await SealProgress.RunAsync(o, "unsealing", total, options, opt => UnsealPipeline.RunAsync(source, target, keys, opt, parse.GetValue(readyFile), ct)).ConfigureAwait(false);
            o.WriteLine($"restored {result.Files.Count} files ({result.Bytes} bytes) into {target}; every chunk{(Directory.Exists(source) ? " and the manifest" : "")} verified; {Placement(result)}");
            return ExitCodes.Ok;
        })));
        return cmd;
    }

    /// <summary><c>veil rekey</c>: rotate the key-encryption key of sealed files by re-wrapping their headers only.</summary>
    public static Command CreateRekey()
    {
        var path = new Argument<string>("path") { Description = "Sealed file or sealed folder (format 2)" };
        var kekFile = new Option<string>("--kek-file") { Description = "The current key-encryption key (32 raw bytes)", Required = true };
        var newKekFile = new Option<string>("--new-kek-file") { Description = "The key-encryption key to rotate to (32 raw bytes)", Required = true };
        var create = new Option<bool>("--new-kek") { Description = "Create --new-kek-file with a fresh random key (refuses to overwrite)" };
        var cmd = new Command("rekey", "Rotate the key-encryption key of sealed files: re-wrap each header's data key, leave the body as it is.") { path, kekFile, newKekFile, create };
        cmd.SetAction((parse, ct) => CliErrors.GuardAsync(parse, () => RefusalsAsync(parse, () =>
        {
            var source = parse.GetValue(path)!;
            if (!Directory.Exists(source) && !File.Exists(source))
            {
                throw new CliUsageException($"path: '{source}' is not a sealed file or folder");
            }

            using var from = KeyEncryptionKey.FromFile(parse.GetValue(kekFile)!);
            using var to = LoadKek(parse.GetValue(newKekFile)!, parse.GetValue(create));
            var keyId = Directory.Exists(source) ? SealedFile.ReadHeader(Path.Combine(source, SealedManifest.FileName)).KeyId : SealedFile.ReadHeader(source).KeyId;
            var result = Rekey.Run(source, from, to);
            var o = parse.InvocationConfiguration.Output;
            o.WriteLine($"re-wrapped {result.Rewrapped} sealed file(s) in {source}{(result.AlreadyRotated > 0 ? $" ({result.AlreadyRotated} already under the new key)" : "")}; no chunk was rewritten");
            o.WriteLine($"next: store the new key at '{keyId}' in the broker (veil resource put {keyId} --file <new key> ...); until then agents get the old key and fail to unwrap");
            return Task.FromResult(ExitCodes.Ok);
        })));
        return cmd;
    }

    /// <summary>How a reader can tell the tree is complete (see <see cref="RestoreMode"/>).</summary>
    private static string Placement(UnsealResult result)
    {
        var how = result.Mode == RestoreMode.Renamed
            ? "renamed into place in one step"
            : "moved into the empty target folder";
        return result.ReadyFile is { } ready ? $"{how}; ready file {ready} written" : how;
    }

    private static Uri CdhBase(string url)
    {
        try
        {
            return CdhKeyProvider.CheckUrl(url);
        }
        catch (AttesterException e)
        {
            throw new CliUsageException(e.Reason);
        }
    }

    private static Option<string?> KekFileOption() =>
        new("--kek-file") { Description = "File holding the 32 raw bytes of the key-encryption key" };

    private static Option<int> ThreadsOption() =>
        new("--threads") { Description = "Worker threads (default: all cores)", DefaultValueFactory = _ => 0 };

    private static int Threads(int requested) => requested switch
    {
        0 => Environment.ProcessorCount,
        < 0 or > 256 => throw new CliUsageException($"--threads: {requested} is outside 1..256"),
        _ => requested,
    };

    private static KeyEncryptionKey LoadKek(string file, bool create)
    {
        if (!create)
        {
            return KeyEncryptionKey.FromFile(file);
        }

        if (File.Exists(file))
        {
            throw new CliUsageException($"--new-kek: '{file}' already exists; refusing to overwrite a key");
        }

        var kek = KeyEncryptionKey.Generate();
        kek.WriteToFile(file);
        return kek;
    }

    private static async Task<int> RefusalsAsync(ParseResult parse, Func<Task<int>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (SealingException e)
        {
            return Refused(parse, e);
        }
        catch (AttesterException e)
        {
            parse.InvocationConfiguration.Error.WriteLine($"veil: attestation failed: {e.Message}");
            return ExitCodes.Failed;
        }
        catch (Veil.Protocol.Client.KbsClientException e)
        {
            parse.InvocationConfiguration.Error.WriteLine($"veil: {e.Message}");
            return ExitCodes.Failed;
        }
    }

    /// <summary>Sealing refusals are answers, not crashes: exit 1 for a refused file or set, 2 for bad key files or destinations.</summary>
    private static int Refused(ParseResult parse, SealingException e)
    {
        var usage = e.Error is SealingError.InvalidKeyFile or SealingError.DestinationExists;
        parse.InvocationConfiguration.Error.WriteLine(usage ? $"veil: {e.Message}" : $"veil: refused ({e.Error}): {e.Message}");
        return usage ? ExitCodes.Usage : ExitCodes.Failed;
    }
}
