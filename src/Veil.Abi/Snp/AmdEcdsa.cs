namespace Veil.Abi.Snp;

/// <summary>
/// AMD's encoding of ECDSA P-384 numbers (SEV-SNP ABI spec, "ECDSA Public Key Format" and "ECDSA Signature Format"):
/// each of R, S, Qx, Qy is a 72-byte little-endian field of which P-384 uses the low 48 bytes. Reports are signed in
/// it and ID blocks are built in it, so the verifier and the measurement tool convert through the same code.
/// </summary>
public static class AmdEcdsa
{
    public const int ComponentLength = 72;

    public const int P384Length = 48;

    /// <summary>The low 48 bytes of a 72-byte little-endian component, as the 48 big-endian bytes P1363 wants.</summary>
    public static void ToBigEndian48(ReadOnlySpan<byte> littleEndian72, Span<byte> bigEndian48)
    {
        littleEndian72[..P384Length].CopyTo(bigEndian48);
        bigEndian48[..P384Length].Reverse();
    }

    /// <summary>A big-endian number of at most 72 bytes as a 72-byte little-endian component (zero-extended).</summary>
    public static byte[] ToLittleEndian72(ReadOnlySpan<byte> bigEndian)
    {
        if (bigEndian.Length > ComponentLength)
        {
            throw new ArgumentException($"{bigEndian.Length} bytes do not fit a {ComponentLength}-byte component", nameof(bigEndian));
        }

        var b = new byte[ComponentLength];
        bigEndian.CopyTo(b);
        b.AsSpan(0, bigEndian.Length).Reverse();
        return b;
    }
}
