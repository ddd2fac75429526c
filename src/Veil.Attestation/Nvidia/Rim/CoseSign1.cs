using System.Security.Cryptography;
using System.Security.Cryptography.Cose;
using System.Security.Cryptography.X509Certificates;

namespace Veil.Attestation.Nvidia.Rim;

/// <summary>
/// A COSE_Sign1 message (RFC 9052 §4.2) as NVIDIA signs CoRIMs (attestation-sdk cose.cpp): ES384 named in the
/// protected header, the signer's chain leaf first in x5chain (label 33, RFC 9360) in either header bucket but
/// not both, an optional x5t thumbprint (label 34), and the payload attached. System.Security.Cryptography.Cose
/// decodes the message and its header maps and verifies the signature over the Sig_structure it builds from the
/// protected header bytes as received. Reading checks the structure first (typed errors naming the field: the
/// library's one refusal, "Error while decoding COSE message", names none); <see cref="Check"/> does the
/// cryptography and says what is wrong as a problem string, so a badly signed CoRIM is a named verification
/// failure rather than a parse error.
/// </summary>
/// <remarks>
/// Kept here because the library lacks them: x5chain and x5t (RFC 9360) are not headers it knows, so their values
/// are read from the raw header value; the certificate chain, the thumbprint and "ES384 with a P-384 key only" are
/// policy the library does not have (it verifies any algorithm the key type allows); and a detached payload, which
/// the library accepts, is refused because a CoRIM must carry what it signs.
/// </remarks>
internal sealed record CoseSign1
{
    public const ulong Tag = 18;
    public const long Es384 = -35;
    private const int X5ChainLabel = 33;
    private const int X5tLabel = 34;
    private const int MaxCertificates = 8;
    private static readonly CoseHeaderLabel X5ChainHeader = new(X5ChainLabel);
    private static readonly CoseHeaderLabel X5tHeader = new(X5tLabel);

    public required long? Algorithm { get; init; }

    public required bool Critical { get; init; }

    public required IReadOnlyList<ReadOnlyMemory<byte>> X5Chain { get; init; }

    public required (long Algorithm, ReadOnlyMemory<byte> Hash)? X5t { get; init; }

    /// <summary>The payload as a slice of the input (the CoRIM reader reads it from here).</summary>
    public required ReadOnlyMemory<byte> Payload { get; init; }

    private CoseSign1Message Message { get; init; } = null!;

    /// <summary>Reads the four-element array; the caller has consumed tag 18 when there was one.</summary>
    public static CoseSign1 Read(CborReader r, string field)
    {
        var start = r.Position;
        var count = r.ReadArray(field);
        if (count != 4)
        {
            throw new EvidenceFormatException(field, $"COSE_Sign1 has {count} elements, not 4");
        }

        var protectedBytes = r.ReadBytes(field + ".protected");
        var protectedLabels = new HashSet<long>();
        if (!protectedBytes.IsEmpty)
        {
            var p = new CborReader(protectedBytes);
            Labels(p, field + ".protected", protectedLabels);
            p.ExpectEnd(field + ".protected");
        }

        // The library refuses any label in both buckets, without saying which; x5chain there is the likely one.
        Labels(r, field + ".unprotected", [], protectedLabels.Contains(X5ChainLabel) ? X5ChainLabel : null);
        if (r.TryReadNull(field + ".payload"))
        {
            throw new EvidenceFormatException(field + ".payload", "detached payload (nil): the CoRIM must be carried in the message");
        }

        var payload = r.ReadBytes(field + ".payload");
        _ = r.ReadBytes(field + ".signature");
        CoseSign1Message message;
        try
        {
            message = CoseMessage.DecodeSign1(r.Since(start).Span);
        }
        catch (CryptographicException e)
        {
            throw new EvidenceFormatException(field, "not a valid COSE_Sign1: " + (e.InnerException is { } inner ? $"{e.Message} {inner.Message}" : e.Message), e);
        }

        var headers = message.ProtectedHeaders;
        return new CoseSign1
        {
            Message = message,
            Algorithm = headers.TryGetValue(CoseHeaderLabel.Algorithm, out var alg) ? ReadAlg(alg, $"{field}.protected[1]") : null,
            Critical = headers.ContainsKey(CoseHeaderLabel.CriticalHeaders),
            X5Chain = headers.TryGetValue(X5ChainHeader, out var chain) ? ReadX5Chain(chain, $"{field}.protected[{X5ChainLabel}]")
                : message.UnprotectedHeaders.TryGetValue(X5ChainHeader, out chain) ? ReadX5Chain(chain, $"{field}.unprotected[{X5ChainLabel}]")
                : [],
            // RFC 9052 §3.1: alg, crit and x5t only count when protected; unprotected copies are ignored.
            X5t = headers.TryGetValue(X5tHeader, out var x5t) ? ReadX5t(x5t, $"{field}.protected[{X5tLabel}]") : null,
            Payload = payload,
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

        if (Message.Signature.Length != 96)
        {
            return (certs, $"ES384 signature is {Message.Signature.Length} bytes, not 96 (r‖s)");
        }

        try
        {
            using var key = certs[0].GetECDsaPublicKey();
            if (key is null || key.KeySize != 384)
            {
                return (certs, "the CoRIM signing certificate has no ECDSA P-384 key");
            }

            return Message.VerifyEmbedded(key)
                ? (certs, null)
                : (certs, "COSE_Sign1 signature does not verify (payload, protected header or signature changed)");
        }
        catch (CryptographicException e)
        {
            return (certs, "COSE_Sign1 signature could not be checked: " + e.Message);
        }
    }

    /// <summary>
    /// The integer labels of a header map, each given once (values are read from the library's maps later);
    /// <paramref name="conflict"/> is a label that must not appear because the other bucket has it.
    /// </summary>
    private static void Labels(CborReader r, string field, HashSet<long> into, long? conflict = null)
    {
        foreach (var label in r.IntKeys(field))
        {
            var at = $"{field}[{label}]";
            if (label == conflict)
            {
                throw new EvidenceFormatException(at, "x5chain appears in both the protected and the unprotected header");
            }

            into.Add(label);
            _ = r.Skip(at);
        }
    }

    private static long ReadAlg(CoseHeaderValue value, string field)
    {
        var r = new CborReader(value.EncodedValue);
        return r.PeekType(field) is CborType.Text
            ? throw new EvidenceFormatException(field, "alg must be an integer")
            : r.ReadInteger(field);
    }

    private static (long, ReadOnlyMemory<byte>) ReadX5t(CoseHeaderValue value, string field)
    {
        var r = new CborReader(value.EncodedValue);
        if (r.ReadArray(field) != 2)
        {
            throw new EvidenceFormatException(field, "x5t must be [hashAlg, hashValue]");
        }

        return (r.ReadInteger(field + ".hashAlg"), r.ReadBytes(field + ".hashValue"));
    }

    private static List<ReadOnlyMemory<byte>> ReadX5Chain(CoseHeaderValue value, string field)
    {
        // RFC 9360 §2: one certificate as a byte string, several as an array of them.
        var r = new CborReader(value.EncodedValue);
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
}
