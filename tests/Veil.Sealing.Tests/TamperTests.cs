using System.Security.Cryptography;

namespace Veil.Sealing.Tests;

/// <summary>Every tampering of a single sealed file fails with a named error and leaves nothing in the output folder.</summary>
public sealed class TamperTests : IDisposable
{
    private const int Chunk = SealedHeader.MinChunkSize;
    private readonly TempDir dir = new();
    private readonly KeyEncryptionKey kek = KeyEncryptionKey.Generate();
    private readonly byte[] plain = RandomNumberGenerator.GetBytes((4 * Chunk) + 100);
    private readonly SealedHeader header;
    private readonly byte[] sealedBytes;

    public TamperTests()
    {
        SealedFile.Seal(dir.Write("p", plain), dir["s"], kek, "models/demo/key", new SealOptions { ChunkSize = Chunk });
        sealedBytes = File.ReadAllBytes(dir["s"]);
        header = SealedHeader.Parse(sealedBytes);
    }

    private SealingException Unseal(byte[] tampered, int threads = 2, KeyEncryptionKey? key = null)
    {
        var outDir = dir["out-" + Guid.NewGuid().ToString("N")];
        Directory.CreateDirectory(outDir);
        var path = dir.Write("t-" + Guid.NewGuid().ToString("N"), tampered);
        var e = Assert.Throws<SealingException>(() =>
            SealedFile.Unseal(path, Path.Combine(outDir, "model.bin"), key ?? kek, new SealOptions { Threads = threads }));
        Assert.Empty(TempDir.FilesUnder(outDir));
        return e;
    }

    [Fact]
    public void Every_header_byte_flip_fails()
    {
        for (var i = 0; i < header.Length; i++)
        {
            var t = (byte[])sealedBytes.Clone();
            t[i] ^= 0x01;
            var e = Unseal(t);
            Assert.Contains(e.Error, new[] { SealingError.InvalidHeader, SealingError.UnsupportedVersion, SealingError.KeyUnwrapFailed, SealingError.Truncated, SealingError.TrailingData });
        }
    }

    [Fact]
    public void Header_field_edits_name_the_field()
    {
        var t = (byte[])sealedBytes.Clone();
        t[0] = (byte)'X';
        Assert.Contains("header.magic", Unseal(t).Message);

        t = (byte[])sealedBytes.Clone();
        t[8] = 3;
        Assert.Equal(SealingError.UnsupportedVersion, Unseal(t).Error);

        // Downgraded to format 1, whose chunks would bind the whole header: the wrap binds the version, so it fails there.
        t = (byte[])sealedBytes.Clone();
        t[8] = 1;
        Assert.Equal(SealingError.KeyUnwrapFailed, Unseal(t).Error);

        t = (byte[])sealedBytes.Clone();
        t[^1000] ^= 0; // unchanged body; edit the file nonce only
        t[30] ^= 0x80;
        var e = Unseal(t);
        Assert.Equal(SealingError.KeyUnwrapFailed, e.Error);
        Assert.Contains("models/demo/key", e.Message);
    }

    [Fact]
    public void Chunk_byte_flip_fails_and_removes_partial_plaintext()
    {
        foreach (var chunk in new long[] { 0, 2, 4 })
        {
            foreach (var threads in new[] { 1, 2 })
            {
                var t = (byte[])sealedBytes.Clone();
                t[header.ChunkOffset(chunk) + 5] ^= 0x40;
                var e = Unseal(t, threads);
                Assert.Equal(SealingError.ChunkAuthenticationFailed, e.Error);
                Assert.Contains($"chunk {chunk} ", e.Message);
            }
        }
    }

    [Fact]
    public void Tag_byte_flip_fails()
    {
        var t = (byte[])sealedBytes.Clone();
        t[header.ChunkOffset(1) + Chunk + 3] ^= 0x01;
        Assert.Equal(SealingError.ChunkAuthenticationFailed, Unseal(t).Error);
    }

    [Fact]
    public void Chunk_swap_fails()
    {
        var t = (byte[])sealedBytes.Clone();
        var size = Chunk + SealedHeader.TagLength;
        sealedBytes.AsSpan((int)header.ChunkOffset(1), size).CopyTo(t.AsSpan((int)header.ChunkOffset(2)));
        sealedBytes.AsSpan((int)header.ChunkOffset(2), size).CopyTo(t.AsSpan((int)header.ChunkOffset(1)));
        Assert.Equal(SealingError.ChunkAuthenticationFailed, Unseal(t).Error);
    }

    [Fact]
    public void Truncation_at_every_chunk_boundary_fails()
    {
        for (long i = 0; i < header.ChunkCount; i++)
        {
            var e = Unseal(sealedBytes.AsSpan(0, (int)header.ChunkOffset(i)).ToArray());
            Assert.Equal(SealingError.Truncated, e.Error);
        }

        Assert.Equal(SealingError.Truncated, Unseal(sealedBytes[..^1]).Error);
        Assert.Equal(SealingError.InvalidHeader, Unseal(sealedBytes[..(header.Length - 1)]).Error);
    }

    [Fact]
    public void Appended_data_fails()
    {
        Assert.Equal(SealingError.TrailingData, Unseal([.. sealedBytes, 0]).Error);
        var extraChunk = sealedBytes.AsSpan((int)header.ChunkOffset(0), Chunk + SealedHeader.TagLength).ToArray();
        Assert.Equal(SealingError.TrailingData, Unseal([.. sealedBytes, .. extraChunk]).Error);
    }

    [Fact]
    public void Chunk_spliced_from_another_file_fails()
    {
        SealedFile.Seal(dir["p"], dir["s2"], kek, "models/demo/key", new SealOptions { ChunkSize = Chunk });
        var other = File.ReadAllBytes(dir["s2"]);
        var t = (byte[])sealedBytes.Clone();
        other.AsSpan((int)header.ChunkOffset(1), Chunk + SealedHeader.TagLength).CopyTo(t.AsSpan((int)header.ChunkOffset(1)));
        Assert.Equal(SealingError.ChunkAuthenticationFailed, Unseal(t).Error);
    }

    [Fact]
    public void Header_from_another_file_fails()
    {
        SealedFile.Seal(dir["p"], dir["s2"], kek, "models/demo/key", new SealOptions { ChunkSize = Chunk });
        var other = File.ReadAllBytes(dir["s2"]);
        var t = (byte[])sealedBytes.Clone();
        other.AsSpan(0, header.Length).CopyTo(t);
        Assert.Equal(SealingError.ChunkAuthenticationFailed, Unseal(t).Error);
    }

    [Fact]
    public void Wrong_key_fails_without_revealing_it()
    {
        using var other = KeyEncryptionKey.Generate();
        var e = Unseal(sealedBytes, key: other);
        Assert.Equal(SealingError.KeyUnwrapFailed, e.Error);
        Assert.Equal("KeyEncryptionKey(redacted)", other.ToString());
    }

    /// <summary>The final flag alone: the same bytes, digest and index open as final but not as a middle chunk.</summary>
    [Fact]
    public void Final_flag_is_authenticated()
    {
        var dataKey = RandomNumberGenerator.GetBytes(32);
        var digest = new byte[32];
        var twoChunks = header with { PlaintextLength = (2L * Chunk) - 1 };
        var threeChunks = header with { PlaintextLength = 3L * Chunk };
        var last = new byte[Chunk + SealedHeader.TagLength];
        var p = new byte[Chunk];
        using (var c = new ChunkCipher(dataKey, twoChunks, digest, "x"))
        {
            c.Seal(1, p.AsSpan(0, Chunk), last);
            c.Open(1, last, p);
        }

        using var c3 = new ChunkCipher(dataKey, threeChunks, digest, "x");
        var e = Assert.Throws<SealingException>(() => c3.Open(1, last, p));
        Assert.Equal(SealingError.ChunkAuthenticationFailed, e.Error);
    }

    public void Dispose()
    {
        kek.Dispose();
        dir.Dispose();
    }
}
