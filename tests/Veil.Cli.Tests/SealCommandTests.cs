using System.Security.Cryptography;
using Veil.Tests.Shared;

namespace Veil.Cli.Tests;

public sealed class SealCommandTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "veil-cli-seal-" + Guid.NewGuid().ToString("N"));

    public SealCommandTests()
    {
        Directory.CreateDirectory(Path.Combine(root, "model", "tokenizer"));
        File.WriteAllBytes(Path.Combine(root, "model", "weights.safetensors"), RandomNumberGenerator.GetBytes(300_000));
        File.WriteAllText(Path.Combine(root, "model", "tokenizer", "tokenizer.json"), "{\"v\":1}");
    }

    private string P(string name) => Path.Combine(root, name);

    [Fact]
    public void Seal_and_unseal_folder_round_trip_with_plain_progress()
    {
        var (exit, output, err) = CliRunner.Run("seal", P("model"), "--out", P("sealed"), "--key-id", "models/demo/weights", "--kek-file", P("kek"), "--new-kek", "--chunk-size", "65536");
        Assert.True(exit == 0, err);
        Assert.Contains("sealing weights.safetensors (300000 bytes)", output);
        Assert.Equal(32, new FileInfo(P("kek")).Length);

        (exit, output, err) = CliRunner.Run("unseal", P("sealed"), "--out", P("restored"), "--kek-file", P("kek"), "--threads", "2");
        Assert.True(exit == 0, err);
        Assert.Contains("and the manifest verified; renamed into place in one step", output);
        Trees.AssertEqual(P("model"), P("restored"));
        Assert.Matches(@"unsealing: 300007 bytes in [0-9.]+ s \(", output);
        Assert.Equal(File.ReadAllBytes(P("model/weights.safetensors")), File.ReadAllBytes(P("restored/weights.safetensors")));
        Assert.Equal("{\"v\":1}", File.ReadAllText(P("restored/tokenizer/tokenizer.json")));
    }

    [Fact]
    public void Seal_and_unseal_single_file()
    {
        Assert.Equal(0, CliRunner.Run("seal", P("model/weights.safetensors"), "--out", P("w.safetensors.veil"), "--key-id", "a/b/c", "--kek-file", P("kek"), "--new-kek").Exit);
        var (exit, output, err) = CliRunner.Run("unseal", P("w.safetensors.veil"), "--out", P("out"), "--kek-file", P("kek"));
        Assert.True(exit == 0, err);
        Assert.Contains("every chunk verified", output);
        Assert.Equal(File.ReadAllBytes(P("model/weights.safetensors")), File.ReadAllBytes(P("out/w.safetensors")));
    }

    [Fact]
    public void A_model_folder_holding_a_ready_file_round_trips_with_diff_r_clean()
    {
        File.WriteAllText(P("model/READY"), "part of the model, not a marker");
        File.WriteAllText(P("model/tokenizer/READY"), "also");
        Assert.Equal(0, CliRunner.Run("seal", P("model"), "--out", P("sealed"), "--key-id", "models/demo/weights", "--kek-file", P("kek"), "--new-kek").Exit);

        var (exit, output, err) = CliRunner.Run("unseal", P("sealed"), "--out", P("restored"), "--kek-file", P("kek"), "--ready-file", P("restored.ready"));
        Assert.True(exit == 0, err);
        Assert.Contains($"ready file {P("restored.ready")} written", output);
        var (diff, diffOut) = Trees.DiffR(P("model"), P("restored"));
        Assert.True(diff == 0, diffOut);
        Trees.AssertEqual(P("model"), P("restored"));
        Assert.StartsWith($"target {P("restored")}\nkey_id models/demo/weights\nfiles 4\n", File.ReadAllText(P("restored.ready")));

        // An existing empty folder (what an emptyDir mount point looks like) is filled with the same tree.
        Directory.CreateDirectory(P("mount"));
        (exit, output, err) = CliRunner.Run("unseal", P("sealed"), "--out", P("mount"), "--kek-file", P("kek"));
        Assert.True(exit == 0, err);
        Assert.Contains("moved into the empty target folder", output);
        (diff, diffOut) = Trees.DiffR(P("model"), P("mount"));
        Assert.True(diff == 0, diffOut);
    }

    [Fact]
    public void A_ready_file_inside_the_target_or_left_from_before_is_bad_usage()
    {
        Assert.Equal(0, CliRunner.Run("seal", P("model"), "--out", P("sealed"), "--key-id", "models/demo/weights", "--kek-file", P("kek"), "--new-kek").Exit);
        var (exit, _, err) = CliRunner.Run("unseal", P("sealed"), "--out", P("restored"), "--kek-file", P("kek"), "--ready-file", P("restored/READY"));
        Assert.Equal(2, exit);
        Assert.Contains("must lie outside the restored tree", err);
        File.WriteAllText(P("old.ready"), "");
        (exit, _, err) = CliRunner.Run("unseal", P("sealed"), "--out", P("restored"), "--kek-file", P("kek"), "--ready-file", P("old.ready"));
        Assert.Equal(2, exit);
        Assert.Contains("already exists", err);
        Assert.False(Directory.Exists(P("restored")));
    }

    [Fact]
    public void Tampered_file_is_refused_with_exit_1_and_no_plaintext()
    {
        CliRunner.Run("seal", P("model"), "--out", P("sealed"), "--key-id", "models/demo/weights", "--kek-file", P("kek"), "--new-kek");
        var victim = P("sealed/weights.safetensors.veil");
        var bytes = File.ReadAllBytes(victim);
        bytes[^100] ^= 1;
        File.WriteAllBytes(victim, bytes);

        var (exit, output, err) = CliRunner.Run("unseal", P("sealed"), "--out", P("restored"), "--kek-file", P("kek"));
        Assert.Equal(1, exit);
        Assert.Contains("ChunkAuthenticationFailed", err);
        Assert.DoesNotContain("restored", output);
        Assert.False(Directory.Exists(P("restored")));
        Assert.Empty(Directory.GetFileSystemEntries(root, "*veil-staging*"));
        Assert.Single(err.Trim().Split('\n'));
    }

    [Fact]
    public void Wrong_key_is_refused_and_key_bytes_never_printed()
    {
        CliRunner.Run("seal", P("model"), "--out", P("sealed"), "--key-id", "models/demo/weights", "--kek-file", P("kek"), "--new-kek");
        var other = RandomNumberGenerator.GetBytes(32);
        File.WriteAllBytes(P("other"), other);
        var (exit, output, err) = CliRunner.Run("unseal", P("sealed"), "--out", P("restored"), "--kek-file", P("other"));
        Assert.Equal(1, exit);
        Assert.Contains("KeyUnwrapFailed", err);
        foreach (var key in new[] { other, File.ReadAllBytes(P("kek")) })
        {
            Assert.DoesNotContain(Convert.ToHexString(key), output + err, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(Convert.ToBase64String(key), output + err);
        }
    }

    [Theory]
    [InlineData("--key-id", "not-a-path")]
    [InlineData("--chunk-size", "100")]
    [InlineData("--threads", "-3")]
    public void Bad_options_are_usage_errors(string option, string value)
    {
        var args = new List<string> { "seal", P("model"), "--out", P("sealed"), "--key-id", "a/b/c", "--kek-file", P("kek"), "--new-kek" };
        var i = args.IndexOf(option);
        if (i >= 0)
        {
            args[i + 1] = value;
        }
        else
        {
            args.AddRange([option, value]);
        }

        var (exit, _, err) = CliRunner.Run([.. args]);
        Assert.Equal(2, exit);
        Assert.Contains(option == "--key-id" ? "key id" : option, err);
        Assert.False(Directory.Exists(P("sealed")));
    }

    [Fact]
    public void Short_key_file_and_existing_key_are_usage_errors()
    {
        File.WriteAllBytes(P("short"), new byte[16]);
        CliRunner.Run("seal", P("model"), "--out", P("sealed"), "--key-id", "a/b/c", "--kek-file", P("kek"), "--new-kek");
        var (exit, _, err) = CliRunner.Run("unseal", P("sealed"), "--out", P("x"), "--kek-file", P("short"));
        Assert.Equal(2, exit);
        Assert.Contains("32 raw bytes", err);

        (exit, _, err) = CliRunner.Run("unseal", P("model"), "--out", P("y"), "--kek-file", P("kek"));
        Assert.Equal(1, exit);
        Assert.Contains("not a sealed folder", err);

        (exit, _, err) = CliRunner.Run("seal", P("model"), "--out", P("s"), "--key-id", "a/b/c", "--kek-file", P("short"), "--new-kek");
        Assert.Equal(2, exit);
        Assert.Contains("refusing to overwrite", err);
        Assert.Equal(16, new FileInfo(P("short")).Length);
    }

    [Fact]
    public void Unseal_through_the_guests_confidential_data_hub()
    {
        Assert.Equal(0, CliRunner.Run("seal", P("model"), "--out", P("sealed"), "--key-id", "models/demo/kek", "--kek-file", P("kek"), "--new-kek").Exit);
        using var cdh = new Veil.Tests.Shared.LoopbackHttpServer();
        cdh.Add("/cdh/resource/models/demo/kek", File.ReadAllBytes(P("kek")));

        var (exit, output, err) = CliRunner.Run("unseal", P("sealed"), "--out", P("restored"), "--cdh", cdh.BaseUri.ToString());

        Assert.True(exit == 0, err);
        Assert.Contains("renamed into place in one step", output);
        Assert.Equal(File.ReadAllBytes(P("model/weights.safetensors")), File.ReadAllBytes(P("restored/weights.safetensors")));

        cdh.AddResponder("/cdh/resource/models/demo/kek", () => (401, "attestation refused by the KBS"u8.ToArray()));
        (exit, _, err) = CliRunner.Run("unseal", P("sealed"), "--out", P("refused"), "--cdh", cdh.BaseUri.ToString());
        Assert.Equal(1, exit);
        Assert.Contains("veil: attestation failed: cdh: GET " + cdh.BaseUri + "cdh/resource/models/demo/kek answered 401: attestation refused by the KBS", err);
        Assert.False(Directory.Exists(P("refused")) && Directory.EnumerateFileSystemEntries(P("refused")).Any());
    }

    [Fact]
    public void Rekey_rotates_a_sealed_folder_to_a_new_key()
    {
        Assert.Equal(0, CliRunner.Run("seal", P("model"), "--out", P("sealed"), "--key-id", "models/demo/kek", "--kek-file", P("kek"), "--new-kek").Exit);

        var (exit, output, err) = CliRunner.Run("rekey", P("sealed"), "--kek-file", P("kek"), "--new-kek-file", P("kek2"), "--new-kek");
        Assert.True(exit == 0, err);
        Assert.Contains("re-wrapped 3 sealed file(s)", output);
        Assert.Contains("store the new key at 'models/demo/kek' in the broker", output);
        Assert.Equal(32, new FileInfo(P("kek2")).Length);

        Assert.Equal(1, CliRunner.Run("unseal", P("sealed"), "--out", P("old"), "--kek-file", P("kek")).Exit);
        (exit, _, err) = CliRunner.Run("unseal", P("sealed"), "--out", P("new"), "--kek-file", P("kek2"));
        Assert.True(exit == 0, err);
        Assert.Equal(File.ReadAllBytes(P("model/weights.safetensors")), File.ReadAllBytes(P("new/weights.safetensors")));

        (exit, _, err) = CliRunner.Run("rekey", P("sealed"), "--kek-file", P("kek"), "--new-kek-file", P("kek2"), "--new-kek");
        Assert.Equal(2, exit);
        Assert.Contains("refusing to overwrite a key", err);
    }

    [Theory]
    [InlineData("there is no key source", "give exactly one of --kek-file, --broker or --cdh")]
    [InlineData("--kek-file kek --cdh", "give exactly one of --kek-file, --broker or --cdh")]
    [InlineData("--broker http://127.0.0.1:9 --cdh", "give exactly one of --kek-file, --broker or --cdh")]
    [InlineData("--cdh --tee snp", "with --cdh the guest's attestation agent collects it")]
    [InlineData("--cdh --gpu off", "with --cdh the guest's attestation agent collects it")]
    [InlineData("--kek-file kek --tee snp", "with --kek-file there is none")]
    [InlineData("--cdh http://10.1.2.3:8006", "not a loopback address")]
    public void Key_source_options_are_checked(string options, string message)
    {
        CliRunner.Run("seal", P("model"), "--out", P("sealed"), "--key-id", "a/b/c", "--kek-file", P("kek"), "--new-kek");
        string[] args = ["unseal", P("sealed"), "--out", P("x"), .. options.StartsWith("--", StringComparison.Ordinal) ? options.Split(' ') : []];
        args = [.. args.Select(a => a == "kek" ? P("kek") : a)];

        var (exit, _, err) = CliRunner.Run(args);

        Assert.Equal(2, exit);
        Assert.Contains(message, err);
        Assert.False(Directory.Exists(P("x")));
    }

    public void Dispose()
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
