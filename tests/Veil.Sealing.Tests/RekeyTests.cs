using System.Security.Cryptography;

namespace Veil.Sealing.Tests;

/// <summary>Rotating the key-encryption key re-wraps headers only; format-1 files keep unsealing and are refused a rekey.</summary>
public sealed class RekeyTests : IDisposable
{
    private const int Chunk = SealedHeader.MinChunkSize;
    private static readonly string Format1 = Path.Combine(AppContext.BaseDirectory, "Fixtures", "format1");
    private readonly TempDir dir = new();
    private readonly KeyEncryptionKey oldKek = KeyEncryptionKey.Generate();
    private readonly KeyEncryptionKey newKek = KeyEncryptionKey.Generate();
    private readonly byte[] plain = RandomNumberGenerator.GetBytes((3 * Chunk) + 123);

    private string SealFile()
    {
        SealedFile.Seal(dir.Write("p", plain), dir["s.veil"], oldKek, "models/demo/kek", new SealOptions { ChunkSize = Chunk });
        return dir["s.veil"];
    }

    [Fact]
    public void A_file_rotates_by_its_header_alone_and_only_the_new_key_opens_it()
    {
        var sealedPath = SealFile();
        var before = File.ReadAllBytes(sealedPath);
        var headerLength = SealedHeader.Parse(before).Length;

        Assert.Equal(new RekeyResult(1, 0), Rekey.Run(sealedPath, oldKek, newKek));

        var after = File.ReadAllBytes(sealedPath);
        Assert.Equal(before.Length, after.Length);
        Assert.Equal(before.AsSpan(headerLength).ToArray(), after.AsSpan(headerLength).ToArray()); // no chunk rewritten
        Assert.NotEqual(before.AsSpan(0, headerLength).ToArray(), after.AsSpan(0, headerLength).ToArray());
        SealedFile.Unseal(sealedPath, dir["out"], newKek);
        Assert.Equal(plain, File.ReadAllBytes(dir["out"]));
        Assert.Equal(SealingError.KeyUnwrapFailed, Assert.Throws<SealingException>(() => SealedFile.Unseal(sealedPath, dir["out2"], oldKek)).Error);

        // Running it again (an interrupted rotation) changes nothing.
        Assert.Equal(new RekeyResult(0, 1), Rekey.Run(sealedPath, oldKek, newKek));
        Assert.Equal(after, File.ReadAllBytes(sealedPath));
    }

    [Fact]
    public void The_wrong_old_key_and_a_damaged_file_are_refused_and_left_untouched()
    {
        var sealedPath = SealFile();
        var before = File.ReadAllBytes(sealedPath);
        using var stranger = KeyEncryptionKey.Generate();
        Assert.Equal(SealingError.KeyUnwrapFailed, Assert.Throws<SealingException>(() => Rekey.Run(sealedPath, stranger, newKek)).Error);
        Assert.Equal(before, File.ReadAllBytes(sealedPath));

        var damaged = (byte[])before.Clone();
        damaged[^5] ^= 0x40; // the last chunk's tag
        File.WriteAllBytes(sealedPath, damaged);
        Assert.Equal(SealingError.ChunkAuthenticationFailed, Assert.Throws<SealingException>(() => Rekey.Run(sealedPath, oldKek, newKek)).Error);
        Assert.Equal(damaged, File.ReadAllBytes(sealedPath));

        File.WriteAllBytes(sealedPath, before[..^1]);
        Assert.Equal(SealingError.Truncated, Assert.Throws<SealingException>(() => Rekey.Run(sealedPath, oldKek, newKek)).Error);
    }

    [Fact]
    public void A_folder_rotates_every_file_and_its_manifest_and_an_interrupted_rotation_completes()
    {
        Directory.CreateDirectory(dir["model/tok"]);
        File.WriteAllBytes(dir["model/weights.bin"], plain);
        File.WriteAllText(dir["model/tok/tokenizer.json"], "{\"v\":1}");
        SealedDirectory.Seal(dir["model"], dir["sealed"], oldKek, "models/demo/kek", new SealOptions { ChunkSize = Chunk });

        // One file rotated by an earlier, interrupted run.
        Assert.Equal(new RekeyResult(1, 0), Rekey.Run(dir["sealed/weights.bin.veil"], oldKek, newKek));
        Assert.Equal(new RekeyResult(2, 1), Rekey.Run(dir["sealed"], oldKek, newKek));

        SealedDirectory.Unseal(dir["sealed"], dir["restored"], newKek);
        Assert.Equal(plain, File.ReadAllBytes(dir["restored/weights.bin"]));
        Assert.Equal("{\"v\":1}", File.ReadAllText(dir["restored/tok/tokenizer.json"]));
        Assert.Equal(SealingError.KeyUnwrapFailed, Assert.Throws<SealingException>(() => SealedDirectory.Unseal(dir["sealed"], dir["x"], oldKek)).Error);
        Assert.Equal(new RekeyResult(0, 3), Rekey.Run(dir["sealed"], oldKek, newKek));
    }

    [Fact]
    public void Format_1_files_still_unseal_and_are_refused_a_rekey_with_the_reason()
    {
        using var kek = KeyEncryptionKey.FromFile(Path.Combine(Format1, "kek"));
        Assert.Equal(SealedHeader.Version1, SealedFile.ReadHeader(Path.Combine(Format1, "weights.bin.veil")).Version);

        SealedFile.Unseal(Path.Combine(Format1, "weights.bin.veil"), dir["w"], kek);
        Assert.Equal(File.ReadAllBytes(Path.Combine(Format1, "model", "weights.bin")), File.ReadAllBytes(dir["w"]));
        SealedDirectory.Unseal(Path.Combine(Format1, "sealed"), dir["set"], kek);
        Assert.Equal(File.ReadAllBytes(Path.Combine(Format1, "model", "config.json")), File.ReadAllBytes(dir["set/config.json"]));

        var copy = dir.Write("v1.veil", File.ReadAllBytes(Path.Combine(Format1, "weights.bin.veil")));
        var e = Assert.Throws<SealingException>(() => Rekey.Run(copy, kek, newKek));
        Assert.Equal(SealingError.UnsupportedVersion, e.Error);
        Assert.Contains("rotates only by re-sealing", e.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        oldKek.Dispose();
        newKek.Dispose();
        dir.Dispose();
    }
}
