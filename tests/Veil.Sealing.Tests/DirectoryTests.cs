using System.Security.Cryptography;

namespace Veil.Sealing.Tests;

/// <summary>A model folder seals file by file plus a sealed manifest; any change to the set fails and restores nothing.</summary>
public sealed class DirectoryTests : IDisposable
{
    private readonly TempDir dir = new();
    private readonly KeyEncryptionKey kek = KeyEncryptionKey.Generate();
    private readonly SealOptions options = new() { ChunkSize = SealedHeader.MinChunkSize };
    private readonly Dictionary<string, byte[]> model = new()
    {
        ["config.json"] = "{\"model_type\":\"llama\"}"u8.ToArray(),
        ["model-00001-of-00002.safetensors"] = RandomNumberGenerator.GetBytes(20_000),
        ["model-00002-of-00002.safetensors"] = RandomNumberGenerator.GetBytes(9_000),
        ["tokenizer/tokenizer.json"] = RandomNumberGenerator.GetBytes(5_000),
        ["empty.txt"] = [],
    };

    public DirectoryTests()
    {
        foreach (var (name, content) in model)
        {
            dir.Write(Path.Combine("model", name), content);
        }
    }

    private string SealSet(string name) =>
        Seal(name, kek);

    private string Seal(string name, KeyEncryptionKey key)
    {
        SealedDirectory.Seal(dir["model"], dir[name], key, "models/demo/weights", options);
        return dir[name];
    }

    private SealingException Refused(string sealedDir)
    {
        var target = dir["restored-" + Guid.NewGuid().ToString("N")];
        var e = Assert.Throws<SealingException>(() => SealedDirectory.Unseal(sealedDir, target, kek, options));
        Assert.False(Directory.Exists(target));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Root, "*veil-staging*"));
        return e;
    }

    [Fact]
    public void Folder_round_trips_with_manifest()
    {
        var sealedDir = SealSet("sealed");
        Assert.True(File.Exists(Path.Combine(sealedDir, "MANIFEST.veil")));
        Assert.True(File.Exists(Path.Combine(sealedDir, "tokenizer", "tokenizer.json.veil")));

        var manifest = SealedDirectory.Unseal(sealedDir, dir["restored"], kek, options);

        Assert.Equal(model.Keys.Order(StringComparer.Ordinal), manifest.Files.Select(f => f.Path));
        foreach (var (name, content) in model)
        {
            Assert.Equal(content, File.ReadAllBytes(Path.Combine(dir["restored"], name)));
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(content)), manifest.Files.Single(f => f.Path == name).Sha256);
        }

        Assert.Equal(model.Count, TempDir.FilesUnder(dir["restored"]).Length);
    }

    [Fact]
    public void Manifest_edit_fails()
    {
        var sealedDir = SealSet("sealed");
        var path = Path.Combine(sealedDir, "MANIFEST.veil");
        var bytes = File.ReadAllBytes(path);
        var header = SealedHeader.Parse(bytes);
        bytes[header.Length + 10] ^= 0x20;
        File.WriteAllBytes(path, bytes);
        Assert.Equal(SealingError.ChunkAuthenticationFailed, Refused(sealedDir).Error);
    }

    [Fact]
    public void Manifest_from_another_set_fails()
    {
        var a = SealSet("a");
        var b = SealSet("b");
        File.Copy(Path.Combine(b, "MANIFEST.veil"), Path.Combine(a, "MANIFEST.veil"), overwrite: true);
        Assert.Equal(SealingError.FileNotInSet, Refused(a).Error);
    }

    [Fact]
    public void File_from_another_sealed_set_fails()
    {
        var a = SealSet("a");
        var b = SealSet("b");
        const string name = "model-00002-of-00002.safetensors.veil";
        File.Copy(Path.Combine(b, name), Path.Combine(a, name), overwrite: true);
        var e = Refused(a);
        Assert.Equal(SealingError.FileNotInSet, e.Error);
        Assert.Contains(name, e.Message);
    }

    [Fact]
    public void Swapped_files_fail()
    {
        var a = SealSet("a");
        var one = Path.Combine(a, "model-00001-of-00002.safetensors.veil");
        var two = Path.Combine(a, "model-00002-of-00002.safetensors.veil");
        File.Move(one, one + ".tmp");
        File.Move(two, one);
        File.Move(one + ".tmp", two);
        Assert.Equal(SealingError.FileNotInSet, Refused(a).Error);
    }

    [Fact]
    public void Dropped_file_fails()
    {
        var a = SealSet("a");
        File.Delete(Path.Combine(a, "tokenizer", "tokenizer.json.veil"));
        Assert.Equal(SealingError.MissingFile, Refused(a).Error);
    }

    [Fact]
    public void Renamed_or_added_file_fails()
    {
        var a = SealSet("a");
        File.Move(Path.Combine(a, "config.json.veil"), Path.Combine(a, "config2.json.veil"));
        Assert.Equal(SealingError.MissingFile, Refused(a).Error);

        var b = SealSet("b");
        File.Copy(Path.Combine(b, "config.json.veil"), Path.Combine(b, "extra.json.veil"));
        Assert.Equal(SealingError.UnexpectedFile, Refused(b).Error);
    }

    /// <summary>A failure in a late file must also remove the earlier files already restored.</summary>
    [Fact]
    public void Tampered_last_file_leaves_no_earlier_plaintext()
    {
        var a = SealSet("a");
        var last = Path.Combine(a, "tokenizer", "tokenizer.json.veil");
        var bytes = File.ReadAllBytes(last);
        bytes[^1] ^= 1;
        File.WriteAllBytes(last, bytes);
        Assert.Equal(SealingError.ChunkAuthenticationFailed, Refused(a).Error);
    }

    [Fact]
    public void Missing_manifest_and_wrong_key_fail()
    {
        var a = SealSet("a");
        using var other = KeyEncryptionKey.Generate();
        var target = dir["t"];
        Assert.Equal(SealingError.KeyUnwrapFailed, Assert.Throws<SealingException>(() => SealedDirectory.Unseal(a, target, other)).Error);
        File.Delete(Path.Combine(a, "MANIFEST.veil"));
        Assert.Equal(SealingError.MissingFile, Refused(a).Error);
    }

    [Fact]
    public void Non_empty_target_is_refused()
    {
        var a = SealSet("a");
        dir.Write("busy/keep.txt", [1]);
        var e = Assert.Throws<SealingException>(() => SealedDirectory.Unseal(a, dir["busy"], kek));
        Assert.Equal(SealingError.DestinationExists, e.Error);
        Assert.Single(TempDir.FilesUnder(dir["busy"]));
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("/etc/passwd")]
    [InlineData("a//b")]
    [InlineData("a/./b")]
    [InlineData("a\\b")]
    public void Manifest_paths_cannot_escape_the_target(string path)
    {
        var m = new SealedManifest(SealedManifest.FormatName, "00", "r/t/k", [new ManifestEntry(path, path + ".veil", 1, new string('a', 64), new string('b', 64))]);
        var e = Assert.Throws<SealingException>(() => SealedManifest.Parse(m.ToJson()));
        Assert.Equal(SealingError.InvalidManifest, e.Error);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{}")]
    [InlineData("[1,2]")]
    [InlineData("{\"format\":\"veil-sealed-set/1\",\"set_id\":\"x\",\"key_id\":\"r/t/k\"}")]
    public void Malformed_manifest_json_is_refused(string json)
    {
        var e = Assert.Throws<SealingException>(() => SealedManifest.Parse(System.Text.Encoding.UTF8.GetBytes(json)));
        Assert.Equal(SealingError.InvalidManifest, e.Error);
    }

    [Fact]
    public void Random_and_truncated_manifest_bytes_are_refused_without_crashing()
    {
        var good = new SealedManifest(SealedManifest.FormatName, "00", "r/t/k", [new ManifestEntry("a", "a.veil", 1, new string('a', 64), new string('b', 64))]).ToJson();
        Assert.Single(SealedManifest.Parse(good).Files);
        for (var n = 0; n < good.Length; n++)
        {
            Assert.Equal(SealingError.InvalidManifest, Assert.Throws<SealingException>(() => SealedManifest.Parse(good.AsSpan(0, n))).Error);
        }

        var rng = new Random(11);
        for (var i = 0; i < 2000; i++)
        {
            var b = new byte[rng.Next(0, 300)];
            rng.NextBytes(b);
            Assert.Throws<SealingException>(() => SealedManifest.Parse(b));
        }
    }

    public void Dispose()
    {
        kek.Dispose();
        dir.Dispose();
    }
}
