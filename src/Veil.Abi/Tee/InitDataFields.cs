using System.Security.Cryptography;

namespace Veil.Abi.Tee;

/// <summary>
/// Where each TEE carries a Confidential Containers init-data digest (kata-types initdata): SNP HOST_DATA (32 bytes)
/// and TDX MRCONFIGID (48 bytes) hold the digest truncated or zero-padded; an Azure vTPM guest extends the SHA-256
/// digest into PCR 8 from zero. One definition for the measuring side (Veil.Measure), the verifier contract and the
/// appraisal's binding.
/// </summary>
public static class InitDataFields
{
    public const int SnpHostDataLength = 32;
    public const int TdxMrConfigIdLength = 48;

    /// <summary>The digest as a field of <paramref name="length"/> bytes: truncated, or zero-padded at the end.</summary>
    public static byte[] Fit(ReadOnlySpan<byte> digest, int length)
    {
        var field = new byte[length];
        digest[..Math.Min(length, digest.Length)].CopyTo(field);
        return field;
    }

    /// <summary>PCR 8 of the SHA-256 bank after the one extend: SHA-256(0³² ‖ digest). Only a 32-byte digest fits the bank.</summary>
    public static byte[] Pcr8(ReadOnlySpan<byte> sha256Digest)
    {
        if (sha256Digest.Length != 32)
        {
            throw new ArgumentException($"PCR 8 of a SHA-256 bank binds a 32-byte (sha256) init-data digest, not {sha256Digest.Length} bytes", nameof(sha256Digest));
        }

        Span<byte> input = stackalloc byte[64];
        input.Clear();
        sha256Digest.CopyTo(input[32..]);
        return SHA256.HashData(input);
    }
}
