using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Veil.Attestation;

/// <summary>Reads certificates given as DER or PEM (one or several, as KDS and PCS send chains).</summary>
public static class Certificates
{
    private const int CacheCapacity = 1024;

    // Evidence carries the same VCEK again and again (Trustee JSON, extended reports); decoding an X.509
    // certificate costs about as much as a fifth of an ECDSA verification, so decoded certificates are
    // shared by the SHA-256 of their DER. They are read-only in Veil: callers must not dispose them.
    private static readonly ConcurrentDictionary<string, X509Certificate2> Decoded = new(StringComparer.Ordinal);

    public static IReadOnlyList<X509Certificate2> Load(ReadOnlySpan<byte> bytes, string field)
    {
        if (bytes.IsEmpty)
        {
            throw new EvidenceFormatException(field, "empty certificate input");
        }

        var text = LooksLikePem(bytes) ? Encoding.ASCII.GetString(bytes) : null;
        try
        {
            if (text is null)
            {
                return [Decode(bytes)];
            }

            var list = new List<X509Certificate2>();
            foreach (var block in PemBlocks(text))
            {
                list.Add(Decode(block));
            }

            return list.Count > 0 ? list : throw new EvidenceFormatException(field, "no PEM CERTIFICATE block found");
        }
        catch (CryptographicException e)
        {
            throw new EvidenceFormatException(field, "not a DER or PEM X.509 certificate (" + e.Message + ")", e);
        }
    }

    public static X509Certificate2 LoadOne(ReadOnlySpan<byte> bytes, string field)
    {
        var all = Load(bytes, field);
        return all.Count == 1 ? all[0] : throw new EvidenceFormatException(field, $"expected one certificate, found {all.Count}");
    }

    public static string Sha256Fingerprint(X509Certificate2 certificate) => Hex.Lower(SHA256.HashData(certificate.RawData));

    private static X509Certificate2 Decode(ReadOnlySpan<byte> der)
    {
        var key = Convert.ToHexString(SHA256.HashData(der));
        if (Decoded.TryGetValue(key, out var known))
        {
            return known;
        }

        var cert = X509CertificateLoader.LoadCertificate(der);
        if (Decoded.Count >= CacheCapacity)
        {
            Decoded.Clear();
        }

        return Decoded.GetOrAdd(key, cert);
    }

    private static bool LooksLikePem(ReadOnlySpan<byte> bytes) => bytes.IndexOf("-----BEGIN"u8) >= 0;

    private static IEnumerable<byte[]> PemBlocks(string text)
    {
        var rest = text.AsMemory();
        while (true)
        {
            var span = rest.Span;
            if (!PemEncoding.TryFind(span, out var fields))
            {
                yield break;
            }

            if (span[fields.Label].SequenceEqual("CERTIFICATE"))
            {
                yield return Convert.FromBase64String(span[fields.Base64Data].ToString());
            }

            rest = rest[fields.Location.End..];
        }
    }
}
