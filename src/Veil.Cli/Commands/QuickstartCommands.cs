using System.CommandLine;
using System.Security.Cryptography;
using System.Text;
using Veil.Broker;
using Veil.Broker.Hosting;
using Veil.Broker.Keys;
using Veil.Guest;
using Veil.Policy;
using Veil.Protocol.Client;
using Veil.Protocol.Messages;
using Veil.Sealing;

namespace Veil.Cli.Commands;

/// <summary>
/// <c>veil quickstart</c>: the whole flow on one machine. A broker on 127.0.0.1 (SQLite in a temp folder, sample TEE
/// allowed, appraised with the shipped <c>sample</c> policy), a demo model sealed under a key the broker holds, the agent
/// attesting and restoring it, then a tampered sealed file, evidence the policy refuses and replayed evidence, each
/// refused with its reason. Exit 0 only if every step behaved so.
/// </summary>
internal static class QuickstartCommands
{
    private const string KeyId = "default/quickstart/model-kek";
    private const string LogLevelVariable = "Logging__LogLevel__Default";

    public static Command Create()
    {
        var cmd = new Command("quickstart", "Run broker, seal, attest and unseal end to end on 127.0.0.1 with the sample TEE, then show two refusals.");
        var keep = new Option<string?>("--keep") { Description = "Work in this (new) folder and keep it afterwards instead of a temporary one" };
        cmd.Add(keep);
        cmd.SetAction((parse, ct) => CliErrors.GuardAsync(parse, () => RunAsync(parse.InvocationConfiguration.Output, parse.GetValue(keep), ct)));
        return cmd;
    }

    private static async Task<int> RunAsync(TextWriter o, string? keep, CancellationToken ct)
    {
        if (keep is not null && Directory.Exists(keep) && Directory.EnumerateFileSystemEntries(keep).Any())
        {
            throw new CliUsageException($"--keep: {keep} exists and is not empty");
        }

        var root = keep ?? Directory.CreateTempSubdirectory("veil-quickstart-").FullName;
        var ok = true;
        try
        {
            var dataDir = Path.Combine(root, "broker-data");
            var token = BrokerInit.Run(dataDir, TimeSpan.FromHours(1), TimeProvider.System).AdminTokenPath;
            // The broker's request log would bury the steps: warnings and errors only, unless the user chose a level.
            if (Environment.GetEnvironmentVariable(LogLevelVariable) is null)
            {
                Environment.SetEnvironmentVariable(LogLevelVariable, "Warning");
            }

            await using var broker = await BrokerHost.StartAsync(
                new BrokerOptions { DataDir = dataDir, Urls = ["http://127.0.0.1:0"], AllowSample = true, Policy = DefaultPolicies.Sample }, ct).ConfigureAwait(false);
            var url = broker.Addresses[0];
            o.WriteLine($"1. broker listening on {url} (SQLite store in {dataDir}, sample TEE allowed, attestation policy '{DefaultPolicies.Sample}')");

            var model = Path.Combine(root, "demo-model");
            WriteDemoModel(model);
            var sealedDir = Path.Combine(root, "demo-model.sealed");
            using (var kek = KeyEncryptionKey.Generate())
            {
                await SealBroker.PutKeyAsync(url, token, KeyId, kek, ct).ConfigureAwait(false);
                var m = SealedDirectory.Seal(model, sealedDir, kek, KeyId);
                o.WriteLine($"2. sealed {m.Files.Count} files of {model} into {sealedDir}; the key-encryption key exists only in the broker, as resource {KeyId}");
            }

            using var http = KbsClient.CreateHttpClient(url);
            var restored = Path.Combine(root, "restored");
            var result = await UnsealPipeline.RunAsync(sealedDir, restored, new BrokerKeyProvider(http, new SampleEvidenceProvider()), cancellationToken: ct).ConfigureAwait(false);
            o.WriteLine($"3. agent attested (sample TEE), the broker released {KeyId}, {result.Files.Count} files restored into {restored} (renamed into place once all verified; nothing added)");
            foreach (var f in result.Files)
            {
                var before = Sha256(Path.Combine(model, f));
                var after = Sha256(Path.Combine(restored, f));
                ok &= before == after;
                o.WriteLine($"   {f,-22} {before[..16]}… → {after[..16]}…  {(before == after ? "digests equal" : "DIGESTS DIFFER")}");
            }

            var sameTree = SealedDirectory.ListFiles(model).SequenceEqual(SealedDirectory.ListFiles(restored), StringComparer.Ordinal);
            ok &= sameTree;
            o.WriteLine(sameTree ? $"   {restored} lists exactly the files of {model}" : $"   {restored} DOES NOT LIST the files of {model}");

            ok &= await ShowTamperRefusedAsync(o, root, sealedDir, http, ct).ConfigureAwait(false);
            ok &= await ShowPolicyRefusalAsync(o, http, ct).ConfigureAwait(false);
            ok &= await ShowReplayRefusedAsync(o, http, ct).ConfigureAwait(false);
        }
        finally
        {
            if (keep is null)
            {
                try
                {
                    Directory.Delete(root, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }

        o.WriteLine(ok ? "quickstart: all steps behaved as expected" : "quickstart: a step did not behave as expected");
        return ok ? ExitCodes.Ok : ExitCodes.Failed;
    }

    private static async Task<bool> ShowTamperRefusedAsync(TextWriter o, string root, string sealedDir, HttpClient http, CancellationToken ct)
    {
        var tampered = Path.Combine(root, "tampered.sealed");
        CopyDirectory(sealedDir, tampered);
        var victim = Path.Combine(tampered, "model.safetensors.veil");
        var bytes = await File.ReadAllBytesAsync(victim, ct).ConfigureAwait(false);
        bytes[bytes.Length / 2] ^= 0x01;
        await File.WriteAllBytesAsync(victim, bytes, ct).ConfigureAwait(false);
        var target = Path.Combine(root, "restored-from-tampered");
        try
        {
            await UnsealPipeline.RunAsync(tampered, target, new BrokerKeyProvider(http, new SampleEvidenceProvider()), cancellationToken: ct).ConfigureAwait(false);
            o.WriteLine("4. tampered sealed file: NOT REFUSED");
            return false;
        }
        catch (SealingException e)
        {
            var left = Directory.Exists(target) ? Directory.GetFiles(target, "*", SearchOption.AllDirectories).Length : 0;
            o.WriteLine($"4. one bit flipped in model.safetensors.veil: refused ({e.Error}): {e.Message}; files left in {target}: {left}");
            return e.Error == SealingError.ChunkAuthenticationFailed && left == 0;
        }
    }

    /// <summary>
    /// Genuine (correctly bound) evidence whose claims the policy refuses: the sample TEE reporting security version 0.
    /// The broker issues the token (its EAR says contraindicated) and refuses the release with the rule that failed.
    /// </summary>
    private static async Task<bool> ShowPolicyRefusalAsync(TextWriter o, HttpClient http, CancellationToken ct)
    {
        var client = new KbsClient(http);
        using var key = TeeKey.CreateEc();
        var challenge = await client.AuthAsync("sample", ct).ConfigureAwait(false);
        var evidence = SampleAttester.Evidence(challenge.Nonce, key.PublicJson, svn: "0");
        await client.AttestAsync(new KbsAttestation(new RuntimeData(challenge.Nonce, key.PublicJson), new TeeEvidence(evidence, "")), ct).ConfigureAwait(false);
        try
        {
            await client.GetResourceAsync(KeyId, ct: ct).ConfigureAwait(false);
            o.WriteLine("5. evidence violating the policy: NOT REFUSED");
            return false;
        }
        catch (KbsClientException e)
        {
            o.WriteLine($"5. evidence reporting sample svn 0: {e.Message}");
            return e.Status == 401 && e.Kind == "PolicyDeny";
        }
    }

    /// <summary>Evidence made for one challenge and presented in another session: its report data no longer binds.</summary>
    private static async Task<bool> ShowReplayRefusedAsync(TextWriter o, HttpClient http, CancellationToken ct)
    {
        var client = new KbsClient(http);
        using var key = TeeKey.CreateEc();
        var first = await client.AuthAsync("sample", ct).ConfigureAwait(false);
        var evidence = SampleAttester.Evidence(first.Nonce, key.PublicJson);
        var second = await client.AuthAsync("sample", ct).ConfigureAwait(false);
        try
        {
            await client.AttestAsync(new KbsAttestation(new RuntimeData(second.Nonce, key.PublicJson), new TeeEvidence(evidence, "")), ct).ConfigureAwait(false);
            o.WriteLine("6. replayed evidence: NOT REFUSED");
            return false;
        }
        catch (KbsClientException e)
        {
            o.WriteLine($"6. evidence bound to an earlier challenge: {e.Message}");
            return e.Status == 401;
        }
    }

    private static void WriteDemoModel(string dir)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), "{\"model_type\":\"veil-demo\",\"hidden_size\":256,\"num_hidden_layers\":2}\n");
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), "{\"version\":\"1.0\",\"model\":{\"type\":\"BPE\",\"vocab\":{}}}\n");
        var header = Encoding.UTF8.GetBytes("{\"demo.weight\":{\"dtype\":\"F32\",\"shape\":[1024,1024],\"data_offsets\":[0,4194304]}}");
        using var f = File.Create(Path.Combine(dir, "model.safetensors"));
        f.Write(BitConverter.GetBytes((ulong)header.Length));
        f.Write(header);
        f.Write(RandomNumberGenerator.GetBytes(4 << 20));
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var dest = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(file, dest);
        }
    }

    private static string Sha256(string path)
    {
        using var s = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(s));
    }
}
