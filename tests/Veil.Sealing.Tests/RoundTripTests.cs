using System.Security.Cryptography;

namespace Veil.Sealing.Tests;

public class RoundTripTests
{
    private const int Chunk = SealedHeader.MinChunkSize;

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 1)]
    [InlineData(Chunk - 1, 2)]
    [InlineData(Chunk, 2)]
    [InlineData(Chunk + 1, 2)]
    [InlineData((Chunk * 7) + 13, 1)]
    [InlineData((Chunk * 7) + 13, 2)]
    [InlineData((Chunk * 7) + 13, 5)]
    public void File_round_trips(int size, int threads)
    {
        using var dir = new TempDir();
        using var kek = KeyEncryptionKey.Generate();
        var plain = RandomNumberGenerator.GetBytes(size);
        var src = dir.Write("model.bin", plain);
        var options = new SealOptions { ChunkSize = Chunk, Threads = threads };

        var header = SealedFile.Seal(src, dir["model.veil"], kek, "models/llama/key1", options);
        var back = SealedFile.Unseal(dir["model.veil"], dir["out.bin"], kek, options);

        Assert.Equal(plain, File.ReadAllBytes(dir["out.bin"]));
        Assert.Equal(size, header.PlaintextLength);
        Assert.Equal(header.Digest(), back.Digest());
        Assert.Equal(Math.Max(1, (size + Chunk - 1) / Chunk), header.ChunkCount);
        Assert.Equal(header.SealedLength, new FileInfo(dir["model.veil"]).Length);
        Assert.Equal(3, Directory.GetFiles(dir.Root).Length);
    }

    [Fact]
    public void Plaintext_larger_than_the_free_space_is_refused_before_anything_is_written()
    {
        using var dir = new TempDir();
        using var kek = KeyEncryptionKey.Generate();
        // A well-formed sealed file (key wraps, length matches) that is sparse on disk, claiming more plaintext than the
        // filesystem has free. Without the check its first chunk (zeros) would fail authentication instead.
        var draft = new SealedHeader
        {
            Kind = SealedKind.File,
            ChunkSize = SealedHeader.MaxChunkSize,
            PlaintextLength = new DriveInfo(dir.Root).AvailableFreeSpace + (1L << 30),
            KeyId = "models/huge/key",
            FileNonce = RandomNumberGenerator.GetBytes(SealedHeader.FileNonceLength),
            WrappedDataKey = new byte[SealedHeader.WrappedKeyLength],
        };
        var header = draft with { WrappedDataKey = DataKeyWrap.Wrap(kek, draft.PrefixBytes(), RandomNumberGenerator.GetBytes(32)) };
        using (var f = File.OpenHandle(dir["huge.veil"], FileMode.CreateNew, FileAccess.Write))
        {
            RandomAccess.Write(f, header.ToBytes(), 0);
            RandomAccess.SetLength(f, header.SealedLength);
        }

        Directory.CreateDirectory(dir["out"]);
        var e = Assert.Throws<SealingException>(() => SealedFile.Unseal(dir["huge.veil"], dir["out/huge.bin"], kek));
        Assert.Equal(SealingError.InsufficientSpace, e.Error);
        Assert.Contains("restoring needs", e.Message, StringComparison.Ordinal);
        Assert.Empty(TempDir.FilesUnder(dir["out"]));
    }

    [Fact]
    public void Ciphertext_does_not_contain_plaintext_and_two_seals_differ()
    {
        using var dir = new TempDir();
        using var kek = KeyEncryptionKey.Generate();
        var plain = new byte[3 * Chunk];
        Array.Fill(plain, (byte)'A');
        var src = dir.Write("p", plain);
        var options = new SealOptions { ChunkSize = Chunk };
        SealedFile.Seal(src, dir["a"], kek, "r/t/k", options);
        SealedFile.Seal(src, dir["b"], kek, "r/t/k", options);
        var a = File.ReadAllBytes(dir["a"]);
        var b = File.ReadAllBytes(dir["b"]);
        Assert.Equal(-1, a.AsSpan().IndexOf(plain.AsSpan(0, 64)));
        Assert.False(a.AsSpan(100).SequenceEqual(b.AsSpan(100)));
    }

    [Fact]
    public void Random_access_reads_any_chunk()
    {
        using var dir = new TempDir();
        using var kek = KeyEncryptionKey.Generate();
        var plain = RandomNumberGenerator.GetBytes((5 * Chunk) + 77);
        SealedFile.Seal(dir.Write("p", plain), dir["s"], kek, "r/t/k", new SealOptions { ChunkSize = Chunk });

        using var reader = SealedFileReader.Open(dir["s"], kek);
        var buf = new byte[Chunk];
        foreach (var i in new long[] { 5, 0, 3 })
        {
            var n = reader.ReadChunk(i, buf);
            Assert.Equal(plain.AsSpan((int)(i * Chunk), n), buf.AsSpan(0, n));
        }

        Assert.Equal(77, reader.ReadChunk(5, buf));
        Assert.Throws<ArgumentOutOfRangeException>(() => reader.ReadChunk(6, buf));
    }

    /// <summary>Past 2 GiB: offsets beyond int.MaxValue, with the default 1 MiB chunks and all cores.</summary>
    [Fact]
    public void Multi_GiB_sparse_file_round_trips()
    {
        using var dir = new TempDir();
        using var kek = KeyEncryptionKey.Generate();
        const long size = (2L << 30) + 3;
        long[] marks = [0, (1L << 20) - 1, 1L << 31, size - 1];
        var src = dir["sparse.bin"];
        using (var f = File.OpenHandle(src, FileMode.CreateNew, FileAccess.Write))
        {
            RandomAccess.SetLength(f, size);
            foreach (var m in marks)
            {
                RandomAccess.Write(f, new[] { (byte)(m % 251 + 1) }, m);
            }
        }

        SealedFile.Seal(src, dir["sparse.veil"], kek, "r/t/k");
        File.Delete(src);
        SealedFile.Unseal(dir["sparse.veil"], dir["out.bin"], kek);
        File.Delete(dir["sparse.veil"]);

        using var o = File.OpenHandle(dir["out.bin"], FileMode.Open);
        Assert.Equal(size, RandomAccess.GetLength(o));
        var one = new byte[1];
        foreach (var m in marks)
        {
            RandomAccess.Read(o, one, m);
            Assert.Equal((byte)(m % 251 + 1), one[0]);
        }

        var block = new byte[1 << 20];
        RandomAccess.Read(o, block, 3L << 29);
        Assert.True(block.AsSpan().IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void Destination_that_exists_is_refused_and_left_untouched()
    {
        using var dir = new TempDir();
        using var kek = KeyEncryptionKey.Generate();
        SealedFile.Seal(dir.Write("p", [1, 2, 3]), dir["s"], kek, "r/t/k");
        dir.Write("out", [9]);
        var e = Assert.Throws<SealingException>(() => SealedFile.Unseal(dir["s"], dir["out"], kek));
        Assert.Equal(SealingError.DestinationExists, e.Error);
        Assert.Equal([9], File.ReadAllBytes(dir["out"]));
    }
}
