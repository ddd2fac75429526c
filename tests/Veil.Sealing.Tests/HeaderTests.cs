using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Veil.Sealing.Tests;

public class HeaderTests
{
    private static readonly SealedHeader Sample = new()
    {
        Kind = SealedKind.File,
        ChunkSize = 1 << 20,
        PlaintextLength = 5_000_000,
        KeyId = "default/model/llama",
        FileNonce = Enumerable.Range(1, 12).Select(i => (byte)i).ToArray(),
        WrappedDataKey = Enumerable.Range(0, 60).Select(i => (byte)(200 - i)).ToArray(),
    };

    [Fact]
    public void Round_trips_and_has_documented_layout()
    {
        var bytes = Sample.ToBytes();
        Assert.Equal(38 + 19 + 60, bytes.Length);
        Assert.Equal("VEILSEAL"u8.ToArray(), bytes[..8]);
        Assert.Equal(2, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)));
        Assert.Equal(1, bytes[10]);
        Assert.Equal(1u << 20, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(12)));
        Assert.Equal(5_000_000ul, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(16)));
        Assert.Equal(19, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(36)));

        var p = SealedHeader.Parse([.. bytes, 1, 2, 3]);
        Assert.Equal(Sample.KeyId, p.KeyId);
        Assert.Equal(Sample.FileNonce, p.FileNonce);
        Assert.Equal(Sample.WrappedDataKey, p.WrappedDataKey);
        Assert.Equal(5, p.ChunkCount);
        Assert.Equal(bytes, p.ToBytes());
    }

    [Fact]
    public void Every_truncation_is_a_named_header_error()
    {
        var bytes = Sample.ToBytes();
        for (var n = 0; n < bytes.Length; n++)
        {
            var e = Assert.Throws<SealingException>(() => SealedHeader.Parse(bytes.AsSpan(0, n)));
            Assert.Equal(SealingError.InvalidHeader, e.Error);
            Assert.Contains("truncated", e.Message);
        }
    }

    [Theory]
    [InlineData(10, 2, "header.algorithm")]
    [InlineData(11, 7, "header.kind")]
    [InlineData(36, 0, "header.key_id_length")]
    [InlineData(40, (byte)' ', "header.key_id")]
    public void Bad_field_names_the_field(int offset, byte value, string field)
    {
        var bytes = Sample.ToBytes();
        bytes[offset] = value;
        if (offset == 36)
        {
            bytes[37] = 0;
        }

        var e = Assert.Throws<SealingException>(() => SealedHeader.Parse(bytes));
        Assert.StartsWith(field, e.Message);
    }

    [Theory]
    [InlineData(100u)]
    [InlineData(4095u)]
    [InlineData((64u << 20) + 1)]
    public void Chunk_size_out_of_range_is_refused(uint size)
    {
        var bytes = Sample.ToBytes();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(12), size);
        Assert.StartsWith("header.chunk_size", Assert.Throws<SealingException>(() => SealedHeader.Parse(bytes)).Message);
    }

    [Fact]
    public void Oversized_plaintext_length_and_key_id_are_refused()
    {
        var bytes = Sample.ToBytes();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), ulong.MaxValue);
        Assert.StartsWith("header.plaintext_length", Assert.Throws<SealingException>(() => SealedHeader.Parse(bytes)).Message);

        bytes = Sample.ToBytes();
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(36), 256);
        Assert.StartsWith("header.key_id_length", Assert.Throws<SealingException>(() => SealedHeader.Parse(bytes)).Message);
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("a/b/c/d")]
    [InlineData("a//c")]
    [InlineData("a/../c")]
    [InlineData("a/b/c d")]
    public void Key_id_must_be_a_resource_path(string keyId)
    {
        Assert.Throws<SealingException>(() => SealedHeader.ValidateKeyId(keyId));
    }

    [Fact]
    public void Random_input_never_crashes_the_parser()
    {
        var rng = new Random(7);
        for (var i = 0; i < 5000; i++)
        {
            var b = new byte[rng.Next(0, 400)];
            rng.NextBytes(b);
            if (i % 2 == 0 && b.Length >= 8)
            {
                "VEILSEAL"u8.CopyTo(b);
                if (b.Length > 11)
                {
                    b[8] = 1;
                    b[9] = 0;
                    b[10] = 1;
                }
            }

            try
            {
                SealedHeader.Parse(b);
            }
            catch (SealingException)
            {
            }
        }
    }

    [Fact]
    public void Key_file_must_be_exactly_32_bytes()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<SealingException>(() => KeyEncryptionKey.FromFile(dir.Write("k", RandomNumberGenerator.GetBytes(31))));
        Assert.Equal(SealingError.InvalidKeyFile, e.Error);
        Assert.Contains("31", e.Message);
        Assert.Equal(SealingError.InvalidKeyFile, Assert.Throws<SealingException>(() => KeyEncryptionKey.FromFile(dir["missing"])).Error);

        using var k = KeyEncryptionKey.Generate();
        k.WriteToFile(dir["good"]);
        using var back = KeyEncryptionKey.FromFile(dir["good"]);
        Assert.Equal(k.Bytes.ToArray(), back.Bytes.ToArray());
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(dir["good"]));
        }
    }
}
