using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Veil.Attestation.Snp;

/// <summary>
/// Remembers certificate chains whose signatures verified, so a second report from the same chip costs one
/// ECDSA verification. Keyed by the SHA-256 of all three certificates; validity at the verification time is
/// checked on every use, and only successful chains are stored.
/// </summary>
internal sealed class SnpChainCache
{
    private const int Capacity = 4096;
    private readonly ConcurrentDictionary<string, VerifiedChain> entries = new(StringComparer.Ordinal);

    // A certificate's bytes never change, and the evidence brings the same shared instances (see Certificates) report
    // after report, so each instance's digest is computed once.
    private static readonly ConditionalWeakTable<X509Certificate2, byte[]> Digests = [];

    public static string Key(X509Certificate2 leaf, X509Certificate2 intermediate, X509Certificate2 root)
    {
        Span<byte> digests = stackalloc byte[96];
        Digest(leaf).CopyTo(digests[..32]);
        Digest(intermediate).CopyTo(digests[32..64]);
        Digest(root).CopyTo(digests[64..]);
        return Convert.ToHexString(digests);
    }

    private static byte[] Digest(X509Certificate2 certificate) =>
        Digests.TryGetValue(certificate, out var d) ? d : Digests.GetValue(certificate, c => SHA256.HashData(c.RawDataMemory.Span));

    public bool TryGet(string key, out VerifiedChain chain) => entries.TryGetValue(key, out chain!);

    public void Add(string key, VerifiedChain chain)
    {
        if (entries.Count >= Capacity)
        {
            // A simple bound: chips are few per fleet; clearing is cheaper than tracking recency.
            entries.Clear();
        }

        entries.TryAdd(key, chain);
    }
}

/// <summary>A leaf whose chain to the pinned ARK verified, with its public key ready for report signatures.</summary>
internal sealed class VerifiedChain(SnpSigningCertificate leaf, ECDsa key)
{
    // .NET does not promise that one ECDsa instance is safe for concurrent use, so concurrent verifications
    // of the same chip each take their own instance from a small pool instead of queueing on a lock.
    private readonly ConcurrentBag<ECDsa> pool = [key];
    private readonly byte[] publicKey = key.ExportSubjectPublicKeyInfo();

    public SnpSigningCertificate Leaf { get; } = leaf;

    public bool VerifyReport(ReadOnlySpan<byte> signed, ReadOnlySpan<byte> p1363Signature)
    {
        if (!pool.TryTake(out var ec))
        {
            ec = ECDsa.Create();
            ec.ImportSubjectPublicKeyInfo(publicKey, out _);
        }

        try
        {
            return ec.VerifyData(signed, p1363Signature, HashAlgorithmName.SHA384, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        finally
        {
            pool.Add(ec);
        }
    }
}
