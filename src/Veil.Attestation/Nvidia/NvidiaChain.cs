using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Veil.Attestation.Nvidia;

/// <summary>
/// Checks a leaf-first certificate chain (device chains, RIM signing chains) up to a pinned NVIDIA root:
/// each signature (over System.Formats.Asn1 via <see cref="CertificateSignature"/>), CA flags, and validity at
/// the verification time. Signature results are remembered per chain (they do not depend on time), so a
/// second report from the same device costs one ECDSA verification; validity is checked on every use.
/// </summary>
internal sealed class NvidiaChain
{
    private const int Capacity = 4096;
    private readonly ConcurrentDictionary<string, bool> verified = new(StringComparer.Ordinal);

    /// <summary>
    /// Adds a named failure for each problem. <paramref name="check"/> prefixes the names
    /// (<c>device_chain</c>, <c>rim.driver.chain</c>); <paramref name="leafRole"/> names the leaf in messages.
    /// Returns true when the signatures and the root are good (validity failures are reported but do not make
    /// the key unusable for naming further failures).
    /// </summary>
    public bool Verify(IReadOnlyList<X509Certificate2> supplied, X509Certificate2 root, DateTimeOffset now, string check, string leafRole, List<VerificationFailure> failures, string? key = null)
    {
        if (supplied.Count == 0)
        {
            failures.Add(new(check, "a certificate chain ending in " + Name(root), "none supplied"));
            return false;
        }

        for (var i = 0; i < supplied.Count; i++)
        {
            if (Unreadable(supplied[i]) is { } why)
            {
                failures.Add(new($"{check}[{i}].certificate", "a well-formed X.509 certificate", why));
                return false;
            }
        }

        var chain = Complete(supplied, root);
        var last = chain[^1];
        if (!last.RawDataMemory.Span.SequenceEqual(root.RawDataMemory.Span))
        {
            failures.Add(new(check + ".root", $"{Name(root)} sha256:{Certificates.Sha256Fingerprint(root)}",
                $"{Name(last)} sha256:{Certificates.Sha256Fingerprint(last)}"));
            return false;
        }

        if (chain.Count < 3)
        {
            // NVIDIA chains are leaf → device/signer CA(s) → root; a leaf signed straight by the root is not one of them.
            failures.Add(new(check + ".length", "at least a leaf, one intermediate and the root", $"{chain.Count} certificates"));
            return false;
        }

        for (var i = 0; i < chain.Count; i++)
        {
            if (CertificateSignature.CheckValidity(chain[i], now) is { } why)
            {
                var role = i == 0 ? leafRole : i == chain.Count - 1 ? "root certificate" : "CA certificate";
                failures.Add(new($"{check}[{i}].validity", "valid at the verification time", $"{role} '{Name(chain[i])}' {why}"));
            }
        }

        key ??= Key(supplied);
        if (verified.ContainsKey(key))
        {
            return true;
        }

        var ok = true;
        for (var i = 0; i < chain.Count; i++)
        {
            var issuer = chain[Math.Min(i + 1, chain.Count - 1)];
            if (i > 0 && chain[i].Extensions["2.5.29.19"] is not X509BasicConstraintsExtension { CertificateAuthority: true })
            {
                failures.Add(new($"{check}[{i}].basic_constraints", "a CA certificate", $"'{Name(chain[i])}' is not marked as a CA"));
                ok = false;
            }

            if (CertificateSignature.Verify(chain[i], issuer) is { } why)
            {
                failures.Add(new($"{check}[{i}].signature", $"signed by {Name(issuer)}", why));
                ok = false;
            }
        }

        if (ok)
        {
            if (verified.Count >= Capacity)
            {
                verified.Clear();
            }

            verified.TryAdd(key, true);
        }

        return ok;
    }

    /// <summary>The supplied chain with the root appended when it was left out.</summary>
    public static List<X509Certificate2> Complete(IReadOnlyList<X509Certificate2> supplied, X509Certificate2 root)
    {
        var chain = new List<X509Certificate2>(supplied);
        if (chain.Count == 0 || !chain[^1].SubjectName.RawData.AsSpan().SequenceEqual(chain[^1].IssuerName.RawData))
        {
            chain.Add(root);
        }

        return chain;
    }

    internal static string Name(X509Certificate2 c) => c.GetNameInfo(X509NameType.SimpleName, false);

    /// <summary>
    /// The loader decodes some fields only when they are first read, so a certificate whose dates, names or
    /// extensions are corrupt loads fine and throws later (found by the CoRIM bit-flip test): read them all once.
    /// </summary>
    private static string? Unreadable(X509Certificate2 c)
    {
        try
        {
            _ = c.NotBefore;
            _ = c.NotAfter;
            _ = c.SubjectName.RawData;
            _ = c.IssuerName.RawData;
            _ = Name(c);
            foreach (var e in c.Extensions)
            {
                // Typed extensions decode their value on first use; basic constraints is the one Verify reads.
                _ = e is X509BasicConstraintsExtension bc ? bc.CertificateAuthority : e.Critical;
            }

            return null;
        }
        catch (CryptographicException e)
        {
            return "unreadable: " + e.Message;
        }
    }

    /// <summary>SHA-256 over the certificates' SHA-256s: names one supplied chain for the caches.</summary>
    public static string Key(IReadOnlyList<X509Certificate2> chain)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> digest = stackalloc byte[32];
        foreach (var c in chain)
        {
            SHA256.HashData(c.RawDataMemory.Span, digest);
            hash.AppendData(digest);
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }
}
