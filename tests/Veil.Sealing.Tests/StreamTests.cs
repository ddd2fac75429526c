using System.Security.Cryptography;

namespace Veil.Sealing.Tests;

/// <summary>Unsealing from a forward-only stream, as from a pipe or an object-store download.</summary>
public sealed class StreamTests : IDisposable
{
    private readonly TempDir dir = new();
    private readonly KeyEncryptionKey kek = KeyEncryptionKey.Generate();

    /// <summary>A pipe: no seeking, no length, short reads.</summary>
    private sealed class ForwardOnly(byte[] data) : Stream
    {
        private int position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = Math.Min(Math.Min(count, 1000), data.Length - position);
            Array.Copy(data, position, buffer, offset, n);
            position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private byte[] Sealed(byte[] plain)
    {
        var name = Guid.NewGuid().ToString("N");
        SealedFile.Seal(dir.Write(name, plain), dir[name + ".veil"], kek, "r/t/k", new SealOptions { ChunkSize = 4096 });
        return File.ReadAllBytes(dir[name + ".veil"]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4095)]
    [InlineData(4096)]
    [InlineData(20_000)]
    public void Round_trips_from_a_pipe(int size)
    {
        var plain = RandomNumberGenerator.GetBytes(size);
        using var output = new MemoryStream();
        var h = StreamUnsealer.Unseal(new ForwardOnly(Sealed(plain)), output, kek);
        Assert.Equal(plain, output.ToArray());
        Assert.Equal(size, h.PlaintextLength);
    }

    [Fact]
    public void Truncated_appended_and_tampered_streams_fail()
    {
        var s = Sealed(RandomNumberGenerator.GetBytes(10_000));
        Assert.Equal(SealingError.Truncated, Assert.Throws<SealingException>(() => StreamUnsealer.Unseal(new ForwardOnly(s[..^1]), Stream.Null, kek)).Error);
        Assert.Equal(SealingError.TrailingData, Assert.Throws<SealingException>(() => StreamUnsealer.Unseal(new ForwardOnly([.. s, 7]), Stream.Null, kek)).Error);
        Assert.Equal(SealingError.InvalidHeader, Assert.Throws<SealingException>(() => StreamUnsealer.Unseal(new ForwardOnly(s[..20]), Stream.Null, kek)).Error);
        var t = (byte[])s.Clone();
        t[^5] ^= 1;
        Assert.Equal(SealingError.ChunkAuthenticationFailed, Assert.Throws<SealingException>(() => StreamUnsealer.Unseal(new ForwardOnly(t), Stream.Null, kek)).Error);
    }

    public void Dispose()
    {
        kek.Dispose();
        dir.Dispose();
    }
}
