using System.Buffers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Veil.Attestation.Nvidia.Rim;

/// <summary>
/// A COSE_Sign1 message (RFC 9052 §4.2) as NVIDIA signs CoRIMs (attestation-sdk cose.cpp): ES384 named in the
/// protected header, the signer's chain leaf first in x5chain (label 33, RFC 9360) in either header bucket but
/// not both, an optional x5t thumbprint (label 34), and the payload attached. Reading checks the structure
/// (typed errors); <see cref="Check"/> does the cryptography and says what is wrong as a problem string, so a
/// badly signed CoRIM is a named verification failure rather than a parse error.
/// </summary>
internal sealed record CoseSign1
{
    public const ulong Tag = 18;
    public const long Es384 = -35;
    private const long AlgLabel = 1;
    private const long CritLabel = 2;
    private const long X5ChainLabel = 33;
    private const long X5tLabel = 34;
    private const int MaxCertificates = 8;

    /// <summary>The protected header exactly as encoded: the signature covers these bytes, not a re-encoding.</summary>
    public required ReadOnlyMemory<byte> ProtectedBytes { get; init; }

    public required long? Algorithm { get; init; }

    public required bool Critical { get; init; }

    public required IReadOnlyList<ReadOnlyMemory<byte>> X5Chain { get; init; }

    public required (long Algorithm, ReadOnlyMemory<byte> Hash)? X5t { get; init; }

    public required ReadOnlyMemory<byte> Payload { get; init; }

    public required ReadOnlyMemory<byte> Signature { get; init; }

    /// <summary>Reads the four-element array; the caller has consumed tag 18 when there was one.</summary>
    public static CoseSign1 Read(CborReader r, string field)
    {
        var count = r.ReadArray(field);
        if (count != 4)
        {
            throw new EvidenceFormatException(field, $"COSE_Sign1 has {count} elements, not 4");
        }

        var protectedBytes = r.ReadBytes(field + ".protected");
        var headers = new Headers();
        if (!protectedBytes.IsEmpty)
        {
            var p = new CborReader(protectedBytes);
            ReadHeaders(p, headers, isProtected: true, field + ".protected");
            p.ExpectEnd(field + ".protected");
        }

        ReadHeaders(r, headers, isProtected: false, field + ".unprotected");
        if (r.TryReadNull(field + ".payload"))
        {
            throw new EvidenceFormatException(field + ".payload", "detached payload (nil): the CoRIM must be carried in the message");
        }

        return new CoseSign1
        {
            ProtectedBytes = protectedBytes,
            Algorithm = headers.Algorithm,
            Critical = headers.Critical,
            X5Chain = headers.X5Chain ?? [],
            X5t = headers.X5t,
            Payload = r.ReadBytes(field + ".payload"),
            Signature = r.ReadBytes(field + ".signature"),
        };
    }

    /// <summary>The x5chain certificates (leaf first) and the reason the signature fails, or null when it holds.</summary>
    public (IReadOnlyList<X509Certificate2> Chain, string? Problem) Check()
    {
        var certs = new List<X509Certificate2>();
        for (var i = 0; i < X5Chain.Count; i++)
        {
            try
            {
                certs.Add(X509CertificateLoader.LoadCertificate(X5Chain[i].Span));
            }
            catch (CryptographicException)
            {
                return (certs, $"x5chain[{i}] is not a DER X.509 certificate");
            }
        }

        if (Critical)
        {
            return (certs, "the protected header lists critical parameters (crit), which are not supported");
        }

        if (Algorithm != Es384)
        {
            return (certs, Algorithm is { } a ? $"alg {a} in the protected header (expected ES384, -35)" : "no alg in the protected header");
        }

        if (certs.Count == 0)
        {
            return (certs, "no x5chain (label 33): the signer is not identified");
        }

        if (X5t is { } t && ThumbprintProblem(t.Algorithm, t.Hash.Span, certs[0]) is { } bad)
        {
            return (certs, bad);
        }

        if (Signature.Length != 96)
        {
            return (certs, $"ES384 signature is {Signature.Length} bytes, not 96 (r‖s)");
        }

        try
        {
            using var key = certs[0].GetECDsaPublicKey();
            if (key is null || key.KeySize != 384)
            {
                return (certs, "the CoRIM signing certificate has no ECDSA P-384 key");
            }

            return key.VerifyData(SigStructure(ProtectedBytes.Span, Payload.Span), Signature.Span, HashAlgorithmName.SHA384, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)
                ? (certs, null)
                : (certs, "COSE_Sign1 signature does not verify (payload, protected header or signature changed)");
        }
        catch (CryptographicException e)
        {
            return (certs, "COSE_Sign1 signature could not be checked: " + e.Message);
        }
    }

    /// <summary>Sig_structure = ["Signature1", protected, external_aad = h'', payload] (RFC 9052 §4.4).</summary>
    internal static byte[] SigStructure(ReadOnlySpan<byte> protectedBytes, ReadOnlySpan<byte> payload)
    {
        var w = new ArrayBufferWriter<byte>(payload.Length + protectedBytes.Length + 32);
        Head(w, CborType.Array, 4);
        Head(w, CborType.Text, 10);
        w.Write("Signature1"u8);
        Head(w, CborType.Bytes, (ulong)protectedBytes.Length);
        w.Write(protectedBytes);
        Head(w, CborType.Bytes, 0);
        Head(w, CborType.Bytes, (ulong)payload.Length);
        w.Write(payload);
        return w.WrittenSpan.ToArray();
    }

    /// <summary>The shortest head for a major type and argument (RFC 8949 §4.2.1, as the signer must have encoded it).</summary>
    internal static void Head(IBufferWriter<byte> w, CborType type, ulong value)
    {
        var major = (byte)((byte)type << 5);
        var span = w.GetSpan(9);
        int n;
        if (value < 24)
        {
            span[0] = (byte)(major | (byte)value);
            n = 1;
        }
        else
        {
            var size = value <= byte.MaxValue ? 1 : value <= ushort.MaxValue ? 2 : value <= uint.MaxValue ? 4 : 8;
            span[0] = (byte)(major | size switch { 1 => 24, 2 => 25, 4 => 26, _ => 27 });
            for (var i = 0; i < size; i++)
            {
                span[size - i] = (byte)(value >> (8 * i));
            }

            n = 1 + size;
        }

        w.Advance(n);
    }

    private static string? ThumbprintProblem(long algorithm, ReadOnlySpan<byte> expected, X509Certificate2 leaf)
    {
        var name = algorithm switch
        {
            -16 => HashAlgorithmName.SHA256,
            -43 => HashAlgorithmName.SHA384,
            -44 => HashAlgorithmName.SHA512,
            _ => default(HashAlgorithmName?),
        };
        if (name is not { } h)
        {
            return $"x5t hash algorithm {algorithm} is not supported (SHA-256, SHA-384, SHA-512)";
        }

        var actual = CryptographicOperations.HashData(h, leaf.RawDataMemory.Span);
        return actual.AsSpan().SequenceEqual(expected) ? null : "x5t thumbprint does not match the x5chain leaf certificate";
    }

    private sealed class Headers
    {
        public long? Algorithm;
        public bool Critical;
        public List<ReadOnlyMemory<byte>>? X5Chain;
        public (long, ReadOnlyMemory<byte>)? X5t;
    }

    private static void ReadHeaders(CborReader r, Headers h, bool isProtected, string field)
    {
        foreach (var label in r.IntKeys(field))
        {
            var at = $"{field}[{label}]";
            switch (label)
            {
                // RFC 9052 §3.1: alg, crit and x5t only count when protected; unprotected copies are ignored.
                case AlgLabel when isProtected:
                    h.Algorithm = r.PeekType(at) is CborType.Text
                        ? throw new EvidenceFormatException(at, "alg must be an integer")
                        : r.ReadInteger(at);
                    break;
                case CritLabel when isProtected:
                    _ = r.Skip(at);
                    h.Critical = true;
                    break;
                case X5tLabel when isProtected:
                    if (r.ReadArray(at) != 2)
                    {
                        throw new EvidenceFormatException(at, "x5t must be [hashAlg, hashValue]");
                    }

                    h.X5t = (r.ReadInteger(at + ".hashAlg"), r.ReadBytes(at + ".hashValue"));
                    break;
                case X5ChainLabel:
                    if (h.X5Chain is not null)
                    {
                        throw new EvidenceFormatException(at, "x5chain appears in both the protected and the unprotected header");
                    }

                    h.X5Chain = ReadX5Chain(r, at);
                    break;
                default:
                    _ = r.Skip(at);
                    break;
            }
        }
    }

    private static List<ReadOnlyMemory<byte>> ReadX5Chain(CborReader r, string field)
    {
        // RFC 9360 §2: one certificate as a byte string, several as an array of them.
        if (r.PeekType(field) == CborType.Bytes)
        {
            return [r.ReadBytes(field)];
        }

        var n = r.ReadArray(field);
        if (n is 0 or > MaxCertificates)
        {
            throw new EvidenceFormatException(field, $"x5chain has {n} certificates (1 to {MaxCertificates} accepted)");
        }

        var list = new List<ReadOnlyMemory<byte>>(n);
        for (var i = 0; i < n; i++)
        {
            list.Add(r.ReadBytes($"{field}[{i}]"));
        }

        return list;
    }
}
