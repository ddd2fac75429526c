using System.Security.Cryptography;
using Veil.Sealing;
using Veil.Tests.Shared;

namespace Veil.Guest.Tests;

public sealed class UnsealPipelineTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "veil-pipeline-" + Guid.NewGuid().ToString("N"));
    private readonly byte[] weights = RandomNumberGenerator.GetBytes(50_000);

    public UnsealPipelineTests()
    {
        Directory.CreateDirectory(P("model"));
        File.WriteAllBytes(P("model/model.safetensors"), weights);
        File.WriteAllText(P("model/config.json"), "{}");
        using var kek = KeyEncryptionKey.Generate();
        kek.WriteToFile(P("kek"));
        SealedDirectory.Seal(P("model"), P("sealed"), kek, "models/demo/weights", new SealOptions { ChunkSize = 4096 });
    }

    private string P(string name) => Path.Combine(root, name);

    /// <summary>Records which key id was asked for, then reads the key file.</summary>
    private sealed class RecordingProvider(string path) : IKeyProvider
    {
        public string? AskedFor { get; private set; }

        public Task<KeyEncryptionKey> GetKeyAsync(string keyId, CancellationToken cancellationToken)
        {
            AskedFor = keyId;
            return new KekFileKeyProvider(path).GetKeyAsync(keyId, cancellationToken);
        }
    }

    private sealed class RefusingProvider : IKeyProvider
    {
        public Task<KeyEncryptionKey> GetKeyAsync(string keyId, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("broker refused: policy");
    }

    [Fact]
    public async Task Restores_folder_into_an_absent_target_holding_exactly_the_sealed_files()
    {
        var keys = new RecordingProvider(P("kek"));
        var result = await UnsealPipeline.RunAsync(P("sealed"), P("tmpfs"), keys);

        Assert.Equal("models/demo/weights", keys.AskedFor);
        Assert.Equal(weights, File.ReadAllBytes(P("tmpfs/model.safetensors")));
        Assert.Equal(["config.json", "model.safetensors"], result.Files);
        Assert.Equal(weights.Length + 2, result.Bytes);
        Assert.Equal(RestoreMode.Renamed, result.Mode);
        Trees.AssertEqual(P("model"), P("tmpfs"));
    }

    [Fact]
    public async Task Ready_file_outside_the_tree_is_written_after_the_tree_is_in_place()
    {
        var result = await UnsealPipeline.RunAsync(P("sealed"), P("tmpfs"), new KekFileKeyProvider(P("kek")), readyFile: P("tmpfs.ready"));

        Assert.Equal(P("tmpfs.ready"), result.ReadyFile);
        Assert.Equal($"target {P("tmpfs")}\nkey_id models/demo/weights\nfiles 2\nbytes 50002\n", File.ReadAllText(P("tmpfs.ready")));
        Trees.AssertEqual(P("model"), P("tmpfs"));
        Assert.Empty(Directory.GetFiles(root, ".tmpfs.ready*"));
    }

    [Theory]
    [InlineData("tmpfs/READY")]
    [InlineData("tmpfs")]
    [InlineData("tmpfs/sub/ready")]
    public async Task Ready_file_inside_the_target_is_refused_before_any_key_is_fetched(string ready)
    {
        var keys = new RecordingProvider(P("kek"));
        var e = await Assert.ThrowsAsync<SealingException>(() => UnsealPipeline.RunAsync(P("sealed"), P("tmpfs"), keys, readyFile: P(ready)));
        Assert.Contains("must lie outside the restored tree", e.Message, StringComparison.Ordinal);
        Assert.Null(keys.AskedFor);
        Assert.False(Directory.Exists(P("tmpfs")));
    }

    [Fact]
    public async Task A_stale_ready_file_is_refused_before_any_key_is_fetched()
    {
        File.WriteAllText(P("stale.ready"), "from an earlier start");
        var keys = new RecordingProvider(P("kek"));
        var e = await Assert.ThrowsAsync<SealingException>(() => UnsealPipeline.RunAsync(P("sealed"), P("tmpfs"), keys, readyFile: P("stale.ready")));
        Assert.Equal(SealingError.DestinationExists, e.Error);
        Assert.Null(keys.AskedFor);
    }

    [Fact]
    public async Task Restores_single_file()
    {
        using (var kek = KeyEncryptionKey.FromFile(P("kek")))
        {
            SealedFile.Seal(P("model/model.safetensors"), P("one.safetensors.veil"), kek, "models/demo/one");
        }

        var result = await UnsealPipeline.RunAsync(P("one.safetensors.veil"), P("out"), new KekFileKeyProvider(P("kek")));
        Assert.Equal(["one.safetensors"], result.Files);
        Assert.Equal(weights, File.ReadAllBytes(P("out/one.safetensors")));
        Assert.Equal(["one.safetensors"], Trees.Entries(P("out")));
    }

    [Fact]
    public async Task Tampered_set_leaves_nothing_and_no_ready()
    {
        var victim = P("sealed/model.safetensors.veil");
        var bytes = File.ReadAllBytes(victim);
        bytes[bytes.Length / 2] ^= 4;
        File.WriteAllBytes(victim, bytes);

        var e = await Assert.ThrowsAsync<SealingException>(() => UnsealPipeline.RunAsync(P("sealed"), P("tmpfs"), new KekFileKeyProvider(P("kek")), readyFile: P("tmpfs.ready")));
        Assert.Equal(SealingError.ChunkAuthenticationFailed, e.Error);
        Assert.False(Directory.Exists(P("tmpfs")));
        Assert.False(File.Exists(P("tmpfs.ready")));
        Assert.Empty(Directory.GetFileSystemEntries(root, "*veil-staging*"));
    }

    [Fact]
    public async Task Refused_key_leaves_nothing()
    {
        await Assert.ThrowsAsync<InvalidOperationException>(() => UnsealPipeline.RunAsync(P("sealed"), P("tmpfs"), new RefusingProvider()));
        Assert.False(Directory.Exists(P("tmpfs")) && Directory.EnumerateFileSystemEntries(P("tmpfs")).Any());
    }

    [Fact]
    public async Task A_model_holding_a_ready_file_round_trips_byte_for_byte_into_a_mount_point_too()
    {
        File.WriteAllText(P("model/READY"), "the model's own file");
        Directory.CreateDirectory(P("model/sub"));
        File.WriteAllText(P("model/sub/READY"), "another");
        using (var kek = KeyEncryptionKey.FromFile(P("kek")))
        {
            SealedDirectory.Seal(P("model"), P("sealed2"), kek, "models/demo/weights");
        }

        var renamed = await UnsealPipeline.RunAsync(P("sealed2"), P("tmpfs"), new KekFileKeyProvider(P("kek")));
        Directory.CreateDirectory(P("mount")); // an emptyDir mount point exists before the init container starts
        var inPlace = await UnsealPipeline.RunAsync(P("sealed2"), P("mount"), new KekFileKeyProvider(P("kek")), readyFile: P("mount.ready"));

        Assert.Equal((RestoreMode.Renamed, RestoreMode.InPlace), (renamed.Mode, inPlace.Mode));
        Trees.AssertEqual(P("model"), P("tmpfs"));
        Trees.AssertEqual(P("model"), P("mount"));
        var (exit, diff) = Trees.DiffR(P("model"), P("mount"));
        Assert.True(exit == 0, diff);
    }

    [Fact]
    public async Task Non_empty_target_is_refused_before_any_key_is_fetched()
    {
        Directory.CreateDirectory(P("busy"));
        File.WriteAllText(P("busy/READY"), "old");
        var keys = new RecordingProvider(P("kek"));
        var e = await Assert.ThrowsAsync<SealingException>(() => UnsealPipeline.RunAsync(P("sealed"), P("busy"), keys));
        Assert.Equal(SealingError.DestinationExists, e.Error);
        Assert.Null(keys.AskedFor);
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
