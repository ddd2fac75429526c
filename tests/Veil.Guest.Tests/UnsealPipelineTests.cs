using System.Security.Cryptography;
using Veil.Sealing;

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
    public async Task Restores_folder_and_writes_ready_last()
    {
        var keys = new RecordingProvider(P("kek"));
        var result = await UnsealPipeline.RunAsync(P("sealed"), P("tmpfs"), keys);

        Assert.Equal("models/demo/weights", keys.AskedFor);
        Assert.Equal(weights, File.ReadAllBytes(P("tmpfs/model.safetensors")));
        Assert.Equal(["config.json", "model.safetensors"], result.Files);
        Assert.Equal(weights.Length + 2, result.Bytes);
        Assert.Equal("key_id models/demo/weights\nfiles 2\nbytes 50002\n", File.ReadAllText(P("tmpfs/READY")));
        Assert.Equal(3, Directory.GetFiles(P("tmpfs"), "*", SearchOption.AllDirectories).Length);
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
        Assert.True(File.Exists(P("out/READY")));
    }

    [Fact]
    public async Task Tampered_set_leaves_nothing_and_no_ready()
    {
        var victim = P("sealed/model.safetensors.veil");
        var bytes = File.ReadAllBytes(victim);
        bytes[bytes.Length / 2] ^= 4;
        File.WriteAllBytes(victim, bytes);

        var e = await Assert.ThrowsAsync<SealingException>(() => UnsealPipeline.RunAsync(P("sealed"), P("tmpfs"), new KekFileKeyProvider(P("kek"))));
        Assert.Equal(SealingError.ChunkAuthenticationFailed, e.Error);
        Assert.Empty(Directory.GetFileSystemEntries(P("tmpfs")));
    }

    [Fact]
    public async Task Refused_key_leaves_nothing()
    {
        await Assert.ThrowsAsync<InvalidOperationException>(() => UnsealPipeline.RunAsync(P("sealed"), P("tmpfs"), new RefusingProvider()));
        Assert.False(Directory.Exists(P("tmpfs")) && Directory.EnumerateFileSystemEntries(P("tmpfs")).Any());
    }

    [Fact]
    public async Task Set_holding_a_ready_file_is_refused_without_leftovers()
    {
        File.WriteAllText(P("model/READY"), "not really");
        using (var kek = KeyEncryptionKey.FromFile(P("kek")))
        {
            SealedDirectory.Seal(P("model"), P("sealed2"), kek, "models/demo/weights");
        }

        await Assert.ThrowsAsync<IOException>(() => UnsealPipeline.RunAsync(P("sealed2"), P("tmpfs"), new KekFileKeyProvider(P("kek"))));
        Assert.Empty(Directory.GetFiles(P("tmpfs"), "*", SearchOption.AllDirectories));
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
