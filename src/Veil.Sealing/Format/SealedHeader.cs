using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Veil.Sealing;

/// <summary>What a sealed file holds: one model file, or the manifest of a sealed directory.</summary>
public enum SealedKind : byte
{
    File = 0,
    Manifest = 1,
}

/// <summary>
/// The versioned header of a sealed file (layout in docs/sealed-format.md). Parsed from and written to the exact
/// bytes that every chunk's associated data commits to, so any header edit fails authentication.
/// </summary>
public sealed record SealedHeader
{
    public const int MagicLength = 8;
    /// <summary>
    /// Version 2 binds chunks to the header prefix (everything before the wrapped key), so the key-encryption key can be
    /// rotated by re-wrapping headers alone; version 1 bound them to the whole header and is still read.
    /// </summary>
    public const ushort CurrentVersion = 2;

    /// <summary>The first format: chunks bind the whole header, wrapped key included (rotation means re-sealing).</summary>
    public const ushort Version1 = 1;

    /// <summary>AES-256-GCM chunks; data key wrapped with AES-256-GCM under the key-encryption key.</summary>
    public const byte AlgorithmAes256Gcm = 1;

    public const int FileNonceLength = 12;
    public const int WrapNonceLength = 12;
    public const int TagLength = 16;
    public const int DataKeyLength = 32;
    public const int MaxKeyIdLength = 255;
    public const int MinChunkSize = 4096;
    public const int MaxChunkSize = 64 << 20;

    /// <summary>256 KiB: a worker's chunk stays in L2 between read, decrypt and write (measured faster than 1 MiB, bench/RESULTS.md).</summary>
    public const int DefaultChunkSize = 256 << 10;

    internal const int FixedPrefixLength = 38;
    internal const int WrappedKeyLength = WrapNonceLength + DataKeyLength + TagLength;

    /// <summary>The longest header possible; reading this many bytes always suffices to parse one.</summary>
    public const int MaxLength = FixedPrefixLength + MaxKeyIdLength + WrappedKeyLength;

    internal static ReadOnlySpan<byte> Magic => "VEILSEAL"u8;

    public ushort Version { get; init; } = CurrentVersion;

    public required SealedKind Kind { get; init; }

    public required int ChunkSize { get; init; }

    public required long PlaintextLength { get; init; }

    /// <summary>The broker resource path of the key-encryption key, <c>repo/type/tag</c>.</summary>
    public required string KeyId { get; init; }

    public required byte[] FileNonce { get; init; }

    /// <summary>Wrap nonce ‖ wrapped data key ‖ wrap tag.</summary>
    public required byte[] WrappedDataKey { get; init; }

    public int Length => FixedPrefixLength + Encoding.UTF8.GetByteCount(KeyId) + WrappedKeyLength;

    /// <summary>Chunks in the body; an empty file still has one (empty, final) chunk so the header is always authenticated.</summary>
    public long ChunkCount => PlaintextLength == 0 ? 1 : ((PlaintextLength - 1) / ChunkSize) + 1;

    public long SealedLength => Length + PlaintextLength + (ChunkCount * TagLength);

    public long ChunkOffset(long index) => Length + (index * ((long)ChunkSize + TagLength));

    public int ChunkPlaintextLength(long index) =>
        index == ChunkCount - 1 ? (int)(PlaintextLength - (index * ChunkSize)) : ChunkSize;

    /// <summary>Validates a key id: a broker resource path of three non-empty segments of printable ASCII.</summary>
    public static void ValidateKeyId(string keyId)
    {
        var parts = keyId.Split('/');
        if (keyId.Length == 0 || keyId.Length > MaxKeyIdLength || parts.Length != 3 || parts.Any(p => p.Length == 0 || p is "." or "..")
            || keyId.Any(c => c <= ' ' || c > '~'))
        {
            throw new SealingException(SealingError.InvalidHeader, $"key id '{Printable(keyId)}': must be a resource path repo/type/tag of printable ASCII, at most {MaxKeyIdLength} bytes");
        }
    }

    /// <summary>The bytes before the wrapped key: what the key wrap authenticates as associated data.</summary>
    internal byte[] PrefixBytes()
    {
        var id = Encoding.ASCII.GetBytes(KeyId);
        var b = new byte[FixedPrefixLength + id.Length];
        Magic.CopyTo(b);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(8), Version);
        b[10] = AlgorithmAes256Gcm;
        b[11] = (byte)Kind;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(12), (uint)ChunkSize);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(16), (ulong)PlaintextLength);
        FileNonce.CopyTo(b.AsSpan(24));
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(36), (ushort)id.Length);
        id.CopyTo(b.AsSpan(38));
        return b;
    }

    public byte[] ToBytes() => [.. PrefixBytes(), .. WrappedDataKey];

    /// <summary>
    /// What every chunk and a set's manifest commit to: SHA-256 of the header prefix (version 2) or of the whole header
    /// (version 1). The prefix holds every field that gives the body its meaning (kind, sizes, file nonce, key id); the
    /// wrapped key is bound to that prefix by the wrap's own associated data, so leaving it out is what lets a rotation
    /// re-wrap it without touching the body.
    /// </summary>
    public byte[] Digest() => SHA256.HashData(Version == Version1 ? ToBytes() : PrefixBytes());

    /// <summary>Parses a header from the start of <paramref name="data"/>; trailing bytes (the body) are ignored.</summary>
    public static SealedHeader Parse(ReadOnlySpan<byte> data)
    {
        Need(data, MagicLength, "magic");
        if (!data[..MagicLength].SequenceEqual(Magic))
        {
            throw new SealingException(SealingError.InvalidHeader, "header.magic: not a Veil sealed file (expected 'VEILSEAL')");
        }

        Need(data, FixedPrefixLength, "header");
        var version = BinaryPrimitives.ReadUInt16LittleEndian(data[8..]);
        if (version is not (Version1 or CurrentVersion))
        {
            throw new SealingException(SealingError.UnsupportedVersion, $"header.version: {version} is not supported (this build reads {Version1} and {CurrentVersion})");
        }

        if (data[10] != AlgorithmAes256Gcm)
        {
            throw new SealingException(SealingError.InvalidHeader, $"header.algorithm: {data[10]} is not supported (1 = AES-256-GCM)");
        }

        if (data[11] > (byte)SealedKind.Manifest)
        {
            throw new SealingException(SealingError.InvalidHeader, $"header.kind: {data[11]} is not 0 (file) or 1 (manifest)");
        }

        var chunk = BinaryPrimitives.ReadUInt32LittleEndian(data[12..]);
        if (chunk is < MinChunkSize or > MaxChunkSize)
        {
            throw new SealingException(SealingError.InvalidHeader, $"header.chunk_size: {chunk} is outside {MinChunkSize}..{MaxChunkSize}");
        }

        var length = BinaryPrimitives.ReadUInt64LittleEndian(data[16..]);
        if (length > long.MaxValue / 2)
        {
            throw new SealingException(SealingError.InvalidHeader, $"header.plaintext_length: {length} is too large");
        }

        var idLength = BinaryPrimitives.ReadUInt16LittleEndian(data[36..]);
        if (idLength is 0 or > MaxKeyIdLength)
        {
            throw new SealingException(SealingError.InvalidHeader, $"header.key_id_length: {idLength} is outside 1..{MaxKeyIdLength}");
        }

        Need(data, FixedPrefixLength + idLength + WrappedKeyLength, "header.key_id/wrapped_key");
        var idBytes = data.Slice(FixedPrefixLength, idLength);
        if (idBytes.ContainsAnyExceptInRange((byte)'!', (byte)'~'))
        {
            throw new SealingException(SealingError.InvalidHeader, "header.key_id: not printable ASCII");
        }

        var keyId = Encoding.ASCII.GetString(idBytes);
        ValidateKeyId(keyId);
        return new SealedHeader
        {
            Version = version,
            Kind = (SealedKind)data[11],
            ChunkSize = (int)chunk,
            PlaintextLength = (long)length,
            FileNonce = data.Slice(24, FileNonceLength).ToArray(),
            KeyId = keyId,
            WrappedDataKey = data.Slice(FixedPrefixLength + idLength, WrappedKeyLength).ToArray(),
        };
    }

    /// <summary>Reads and parses the header at the start of an open sealed file.</summary>
    internal static SealedHeader Read(Microsoft.Win32.SafeHandles.SafeFileHandle handle, string name)
    {
        var buffer = new byte[MaxLength];
        var n = 0;
        while (n < buffer.Length)
        {
            var r = RandomAccess.Read(handle, buffer.AsSpan(n), n);
            if (r == 0)
            {
                break;
            }

            n += r;
        }

        try
        {
            return Parse(buffer.AsSpan(0, n));
        }
        catch (SealingException e)
        {
            throw new SealingException(e.Error, $"{name}: {e.Message}", e);
        }
    }

    private static void Need(ReadOnlySpan<byte> data, int length, string field)
    {
        if (data.Length < length)
        {
            throw new SealingException(SealingError.InvalidHeader, $"{field}: truncated ({data.Length} of at least {length} bytes)");
        }
    }

    private static string Printable(string s) => new([.. s.Take(64).Select(c => c is >= ' ' and <= '~' ? c : '?')]);
}
