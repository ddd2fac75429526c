using System.Security.Cryptography;
using Veil.Tests.Shared;

namespace Veil.Sealing.Tests;

/// <summary>
/// A restored folder is exactly the sealed one: no marker, no staging name, files byte for byte, even when the model
/// itself holds a file called READY. An absent target appears by one rename; an empty one (a mount point) is filled.
/// </summary>
public sealed class StagedRestoreTests : IDisposable
{
    private readonly TempDir dir = new();
    private readonly KeyEncryptionKey kek = KeyEncryptionKey.Generate();

    public StagedRestoreTests()
    {
        dir.Write("model/READY", "the model's own file, not a marker"u8.ToArray());
        dir.Write("model/config.json", "{\"model_type\":\"llama\"}"u8.ToArray());
        dir.Write("model/model.safetensors", RandomNumberGenerator.GetBytes(70_000));
        dir.Write("model/tokenizer/READY", [1, 2, 3]);
        dir.Write("model/.hidden", [0]);
        SealedDirectory.Seal(dir["model"], dir["sealed"], kek, "models/demo/weights", new SealOptions { ChunkSize = SealedHeader.MinChunkSize });
    }

    [Fact]
    public void A_folder_with_a_ready_file_restores_into_an_absent_target_by_rename_and_equals_the_sealed_tree()
    {
        var (manifest, mode) = SealedDirectory.Restore(dir["sealed"], dir["restored"], kek);

        Assert.Equal(RestoreMode.Renamed, mode);
        Assert.Equal(5, manifest.Files.Count);
        Trees.AssertEqual(dir["model"], dir["restored"]);
        Assert.Equal(["model/", "restored/", "sealed/"], Directory.GetFileSystemEntries(dir.Root).Select(p => Path.GetFileName(p) + "/").Order(StringComparer.Ordinal));
    }

    [Fact]
    public void An_empty_existing_target_is_filled_in_place_and_equals_the_sealed_tree()
    {
        Directory.CreateDirectory(dir["mount"]);

        var (_, mode) = SealedDirectory.Restore(dir["sealed"], dir["mount"], kek);

        Assert.Equal(RestoreMode.InPlace, mode);
        Trees.AssertEqual(dir["model"], dir["mount"]);
    }

    [Fact]
    public void The_system_diff_r_finds_no_difference()
    {
        SealedDirectory.Unseal(dir["sealed"], dir["restored"], kek);

        var (exit, output) = Trees.DiffR(dir["model"], dir["restored"]);
        Assert.True(exit == 0, output);
        Assert.Equal("", output);
    }

    [Fact]
    public void A_failure_leaves_neither_the_target_nor_a_staging_folder()
    {
        var victim = dir["sealed/tokenizer/READY.veil"];
        var bytes = File.ReadAllBytes(victim);
        bytes[^1] ^= 1;
        File.WriteAllBytes(victim, bytes);

        Assert.Equal(SealingError.ChunkAuthenticationFailed, Assert.Throws<SealingException>(() => SealedDirectory.Restore(dir["sealed"], dir["restored"], kek)).Error);
        Assert.False(Directory.Exists(dir["restored"]));
        Directory.CreateDirectory(dir["mount"]);
        Assert.Throws<SealingException>(() => SealedDirectory.Restore(dir["sealed"], dir["mount"], kek));
        Assert.Empty(Directory.GetFileSystemEntries(dir["mount"]));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Root, "*veil-staging*"));
    }

    [Fact]
    public void A_target_that_appears_while_restoring_is_not_mixed_with()
    {
        var e = Assert.Throws<SealingException>(() => StagedRestore.Run(dir["late"], staging =>
        {
            File.WriteAllBytes(Path.Combine(staging, "weights"), [1]);
            dir.Write("late/someone-elses", [2]);
            return 0;
        }));

        Assert.Equal(SealingError.DestinationExists, e.Error);
        Assert.Equal(["someone-elses"], Directory.GetFileSystemEntries(dir["late"]).Select(Path.GetFileName));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Root, "*veil-staging*"));
    }

    [Fact]
    public void A_non_empty_target_or_a_file_is_refused_before_anything_is_written()
    {
        dir.Write("busy/x", [1]);
        dir.Write("file", [1]);
        var ran = false;
        Assert.Equal(SealingError.DestinationExists, Assert.Throws<SealingException>(() => StagedRestore.Run(dir["busy"], _ => ran = true)).Error);
        Assert.Equal(SealingError.DestinationExists, Assert.Throws<SealingException>(() => StagedRestore.Run(dir["file"], _ => ran = true)).Error);
        Assert.False(ran);
    }

    public void Dispose()
    {
        kek.Dispose();
        dir.Dispose();
    }
}
