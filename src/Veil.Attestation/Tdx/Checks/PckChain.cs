using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Veil.Attestation.Collateral;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;

namespace Veil.Attestation.Tdx.Checks;

/// <summary>
/// The PCK certificate chain carried in a quote (leaf → Intel SGX PCK Platform/Processor CA → Intel SGX Root
/// CA), checked up to the embedded root. What does not depend on time (parsing, signatures, the SGX
/// extensions) is computed once per distinct chain and cached; validity is checked on every use.
/// </summary>
internal sealed class PckChain
{
    private static readonly ValidityPeriod RootValidity = ValidityPeriod.Of(IntelRoots.SgxRoot);

    private PckChain(X509Certificate2? leaf, X509Certificate2? ca, PckExtensions? extensions, EcdsaKeyPool? leafKey, IReadOnlyList<VerificationFailure> failures)
    {
        Leaf = leaf;
        Ca = ca;
        Extensions = extensions;
        LeafKey = leafKey;
        Failures = failures;
        CaKind = leaf is null ? "platform" : PckExtensions.CaKind(leaf);
        Validity =
        [
            .. leaf is null ? [] : new[] { ("pck.leaf", ValidityPeriod.Of(leaf)) },
            .. ca is null ? [] : new[] { ("pck.ca", ValidityPeriod.Of(ca)) },
            ("pck.root", RootValidity),
        ];
    }

    public X509Certificate2? Leaf { get; }

    public X509Certificate2? Ca { get; }

    public PckExtensions? Extensions { get; }

    /// <summary>Set only when the whole chain verified to the pinned root.</summary>
    public EcdsaKeyPool? LeafKey { get; }

    /// <summary>Failures that do not depend on the verification time.</summary>
    public IReadOnlyList<VerificationFailure> Failures { get; }

    /// <summary>"platform" or "processor": which PCK CA issued the leaf, so which PCK CRL applies.</summary>
    public string CaKind { get; }

    /// <summary>Each certificate's period by check name; compared with the verification time on every use.</summary>
    public IReadOnlyList<(string Name, ValidityPeriod Period)> Validity { get; }

    public static PckChain Build(ReadOnlySpan<byte> pem)
    {
        var failures = new List<VerificationFailure>();
        IReadOnlyList<X509Certificate2> certs;
        var text = pem.TrimEnd((byte)0);
        try
        {
            certs = Veil.Attestation.Certificates.Load(text, "pck.chain");
        }
        catch (EvidenceFormatException e)
        {
            failures.Add(new("pck.chain", "leaf, PCK CA and Intel SGX Root CA as PEM", e.Reason));
            return new PckChain(null, null, null, null, failures);
        }

        // A damaged PEM block is skipped by the PEM reader; count the blocks so it cannot go unnoticed.
        var blocks = Count(text, "-----BEGIN"u8);
        if (certs.Count != 3 || blocks != 3 || Count(text, "-----END"u8) != 3)
        {
            failures.Add(new("pck.chain", "3 PEM certificates (leaf, PCK CA, Intel SGX Root CA)", $"{certs.Count} readable certificates in {blocks} PEM blocks"));
            return new PckChain(null, null, null, null, failures);
        }

        var (leaf, ca) = (certs[0], certs[1]);
        var root = IntelRoots.SgxRoot;
        if (!certs[2].RawDataMemory.Span.SequenceEqual(root.RawDataMemory.Span))
        {
            failures.Add(new("pck.root", $"Intel SGX Root CA sha256:{IntelRoots.SgxRootSha256}", $"{certs[2].Subject} sha256:{Veil.Attestation.Certificates.Sha256Fingerprint(certs[2])}"));
        }

        if (CertificateSignature.Verify(ca, root) is { } caWhy)
        {
            failures.Add(new("pck.ca.signature", "signed by Intel SGX Root CA", caWhy));
        }

        if (CertificateSignature.Verify(leaf, ca) is { } leafWhy)
        {
            failures.Add(new("pck.leaf.signature", $"signed by {ca.GetNameInfo(X509NameType.SimpleName, false)}", leafWhy));
        }

        PckExtensions? ext = null;
        try
        {
            ext = PckExtensions.From(leaf);
        }
        catch (EvidenceFormatException e)
        {
            failures.Add(new(e.Field, "Intel SGX PCK extensions", e.Reason));
        }

        EcdsaKeyPool? key = null;
        var ec = leaf.GetECDsaPublicKey();
        if (ec is null || ec.KeySize != 256)
        {
            failures.Add(new("pck.leaf.key", "ECDSA P-256 public key", ec is null ? "not an EC key" : $"EC key of {ec.KeySize} bits"));
            ec?.Dispose();
        }
        else if (failures.Count == 0)
        {
            key = EcdsaKeyPool.FromKey(ec);
        }
        else
        {
            ec.Dispose();
        }

        return new PckChain(leaf, ca, ext, key, failures);
    }

    private static int Count(ReadOnlySpan<byte> text, ReadOnlySpan<byte> marker)
    {
        var n = 0;
        for (var i = text.IndexOf(marker); i >= 0; i = text[(i + 1)..].IndexOf(marker) is var j and >= 0 ? i + 1 + j : -1)
        {
            n++;
        }

        return n;
    }
}

/// <summary>
/// Verified PCK chains and attestation keys, keyed by their exact bytes (compared in full, so no hash collision can
/// stand in for a verified chain; the hash only spreads the buckets). Bounded; cleared when full.
/// </summary>
internal sealed class TdxKeyCache
{
    private const int Capacity = 4096;
    private readonly ConcurrentDictionary<ReadOnlyMemory<byte>, PckChain> chains = new(BytesComparer.Instance);
    private readonly ConcurrentDictionary<ReadOnlyMemory<byte>, EcdsaKeyPool?> attestationKeys = new(BytesComparer.Instance);

    public PckChain Chain(ReadOnlyMemory<byte> pem)
    {
        if (chains.TryGetValue(pem, out var chain))
        {
            return chain;
        }

        chain = PckChain.Build(pem.Span);
        Bound(chains);
        return chains.GetOrAdd(pem.ToArray(), chain);
    }

    /// <summary>Null when the bytes are not a point on P-256.</summary>
    public EcdsaKeyPool? AttestationKey(ReadOnlyMemory<byte> xy)
    {
        if (attestationKeys.TryGetValue(xy, out var pool))
        {
            return pool;
        }

        try
        {
            pool = EcdsaKeyPool.FromRawP256(xy.Span);
        }
        catch (CryptographicException)
        {
            pool = null;
        }

        Bound(attestationKeys);
        return attestationKeys.GetOrAdd(xy.ToArray(), pool);
    }

    private static void Bound<T>(ConcurrentDictionary<ReadOnlyMemory<byte>, T> d)
    {
        if (d.Count >= Capacity)
        {
            // Platforms are few per fleet; clearing is cheaper than tracking recency.
            d.Clear();
        }
    }
}

/// <summary>
/// Compares byte strings by content. The hash reads the length and 64 bytes spread over the data (a PEM chain is
/// ~4 KB and is looked up once per quote); equality always compares every byte, so a planned hash collision only
/// shares a bucket and can never stand in for another chain. HashCode is seeded per process.
/// </summary>
internal sealed class BytesComparer : IEqualityComparer<ReadOnlyMemory<byte>>
{
    public static readonly BytesComparer Instance = new();

    public bool Equals(ReadOnlyMemory<byte> x, ReadOnlyMemory<byte> y) => x.Span.SequenceEqual(y.Span);

    public int GetHashCode(ReadOnlyMemory<byte> obj)
    {
        var span = obj.Span;
        var h = new HashCode();
        h.Add(span.Length);
        if (span.Length <= 64)
        {
            h.AddBytes(span);
            return h.ToHashCode();
        }

        var step = span.Length / 8;
        for (var i = 0; i < 8; i++)
        {
            h.Add(System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(span[Math.Min(i * step, span.Length - 8)..]));
        }

        return h.ToHashCode();
    }
}
