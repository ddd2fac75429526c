namespace Veil.Abi;

/// <summary>A fixed field of a binary structure: its offset and length in bytes.</summary>
public readonly record struct ByteField(int Offset, int Length)
{
    public int End => Offset + Length;

    public ReadOnlySpan<byte> Of(ReadOnlySpan<byte> structure) => structure.Slice(Offset, Length);

    public Span<byte> Of(Span<byte> structure) => structure.Slice(Offset, Length);

    public ReadOnlyMemory<byte> Of(ReadOnlyMemory<byte> structure) => structure.Slice(Offset, Length);
}
