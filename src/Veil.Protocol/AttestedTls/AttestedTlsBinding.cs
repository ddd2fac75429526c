using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Veil.Protocol.AttestedTls;

/// <summary>
/// How <c>veil gateway</c> binds the client's nonce, its TLS key and its GPU evidence into the CPU report data
/// (docs/attested-tls.md, "Binding"). Both sides compute it from these functions; a client in another language
/// follows the same byte layout. Domain strings keep these digests from ever equalling a KBS binding.
/// </summary>
public static class AttestedTlsBinding
{
    public const string Version = "veil-attested-tls/1";
    public const int MinNonceBytes = 32;
    public const int MaxNonceBytes = 64;
    public const int ReportDataLength = 64;
    public const int GpuNonceLength = 32;

    private static readonly byte[] CpuDomain = Encoding.ASCII.GetBytes(Version + "/cpu\0");
    private static readonly byte[] GpuDomain = Encoding.ASCII.GetBytes(Version + "/gpu\0");

    /// <summary>SHA-256 of the certificate's DER SubjectPublicKeyInfo: what is pinned, whatever the certificate says.</summary>
    public static byte[] SpkiSha256(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo());
    }

    /// <summary>SHA-384 of the exact UTF-8 bytes of the <c>gpu_evidence</c> string ("" when no GPU evidence).</summary>
    public static byte[] GpuEvidenceDigest(string gpuEvidence) => SHA384.HashData(Encoding.UTF8.GetBytes(gpuEvidence));

    /// <summary>
    /// REPORT_DATA (64 bytes) = SHA-512(<c>"veil-attested-tls/1/cpu" 0x00</c> ‖ len(N) as 1 byte ‖ N ‖ SHA-256(SPKI) ‖
    /// SHA-384(gpu_evidence) ‖ issued_at as 8-byte big-endian Unix seconds).
    /// </summary>
    public static byte[] CpuReportData(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> spkiSha256, ReadOnlySpan<byte> gpuEvidenceDigest, long issuedAt)
    {
        CheckNonce(nonce);
        CheckLength(spkiSha256, 32, "tls_spki_sha256");
        CheckLength(gpuEvidenceDigest, 48, "gpu evidence digest");
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
        h.AppendData(CpuDomain);
        h.AppendData([(byte)nonce.Length]);
        h.AppendData(nonce);
        h.AppendData(spkiSha256);
        h.AppendData(gpuEvidenceDigest);
        Span<byte> time = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(time, issuedAt);
        h.AppendData(time);
        return h.GetHashAndReset();
    }

    /// <summary>Each GPU's SPDM request nonce (32 bytes) = SHA-256(<c>"veil-attested-tls/1/gpu" 0x00</c> ‖ len(N) ‖ N ‖ SHA-256(SPKI)).</summary>
    public static byte[] GpuNonce(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> spkiSha256)
    {
        CheckNonce(nonce);
        CheckLength(spkiSha256, 32, "tls_spki_sha256");
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        h.AppendData(GpuDomain);
        h.AppendData([(byte)nonce.Length]);
        h.AppendData(nonce);
        h.AppendData(spkiSha256);
        return h.GetHashAndReset();
    }

    /// <summary>
    /// Reads the <c>nonce</c> query value: unpadded base64url of 32..64 bytes (43..86 characters). Anything else is a
    /// <see cref="ProtocolFormatException"/>; the caller's text is never echoed back.
    /// </summary>
    public static byte[] ParseNonce(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            throw new ProtocolFormatException("nonce", "missing (give ?nonce=<base64url of 32..64 random bytes>)");
        }

        if (text.Length > 86)
        {
            throw new ProtocolFormatException("nonce", $"{text.Length} characters; at most 86 (64 bytes)");
        }

        foreach (var c in text)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                throw new ProtocolFormatException("nonce", "not unpadded base64url (A-Z a-z 0-9 - _)");
            }
        }

        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(text);
        }
        catch (FormatException)
        {
            throw new ProtocolFormatException("nonce", "not unpadded base64url");
        }

        CheckNonce(bytes);
        return bytes;
    }

    public static string FormatNonce(ReadOnlySpan<byte> nonce) => Base64Url.EncodeToString(nonce);

    private static void CheckNonce(ReadOnlySpan<byte> nonce)
    {
        if (nonce.Length is < MinNonceBytes or > MaxNonceBytes)
        {
            throw new ProtocolFormatException("nonce", $"{nonce.Length} bytes; must be {MinNonceBytes}..{MaxNonceBytes}");
        }
    }

    private static void CheckLength(ReadOnlySpan<byte> value, int length, string field)
    {
        if (value.Length != length)
        {
            throw new ProtocolFormatException(field, $"{value.Length} bytes; must be {length}");
        }
    }
}
