using System.Security.Cryptography.X509Certificates;

namespace Veil.Attestation.Snp;

/// <summary>What the verifier knows when it asks for collateral.</summary>
/// <param name="Product">Generation from the report's CPUID; null for v2 reports.</param>
/// <param name="Signer">The key type the report says signed it.</param>
/// <param name="ChipId">CHIP_ID (64 bytes; Turin uses the first 8).</param>
/// <param name="ReportedTcb">The TCB the signing key was derived for.</param>
/// <param name="EvidenceCertificates">Certificates that arrived with the evidence (extended report, Trustee JSON).</param>
public sealed record SnpCollateralRequest(
    SnpProduct? Product,
    SnpSigningKey Signer,
    ReadOnlyMemory<byte> ChipId,
    TcbVersion ReportedTcb,
    IReadOnlyList<X509Certificate2> EvidenceCertificates);

/// <summary>
/// Certificates for one report: the VCEK/VLEK, optionally its ASK/ASVK and the ARK. Missing CA certificates
/// are taken from Veil's embedded AMD roots; a supplied ARK must equal the embedded one.
/// </summary>
public sealed record SnpCollateral(X509Certificate2? Leaf, X509Certificate2? Intermediate, X509Certificate2? Root)
{
    public static SnpCollateral None { get; } = new(null, null, null);

    /// <summary>Fills what this one lacks from <paramref name="other"/>.</summary>
    public SnpCollateral Or(SnpCollateral other) =>
        new(Leaf ?? other.Leaf, Intermediate ?? other.Intermediate, Root ?? other.Root);

    /// <summary>A leaf is all that must be found; AMD's CAs are embedded in Veil.</summary>
    public bool HasLeaf => Leaf is not null;

    /// <summary>
    /// Sorts certificates by AMD's naming: SEV-VCEK/SEV-VLEK leaves, SEV-&lt;product&gt; and SEV-VLEK-&lt;product&gt;
    /// CAs, ARK-&lt;product&gt; roots. A leaf and CA of the requested signer type are preferred; one of the other
    /// type is still returned so that the verifier can name the mismatch instead of "not found".
    /// </summary>
    public static SnpCollateral FromCertificates(IEnumerable<X509Certificate2> certificates, SnpSigningKey signer)
    {
        X509Certificate2? vcek = null, vlek = null, ask = null, asvk = null, root = null;
        foreach (var c in certificates)
        {
            var cn = CommonName(c);
            switch (cn)
            {
                case "SEV-VCEK": vcek ??= c; break;
                case "SEV-VLEK": vlek ??= c; break;
                case not null when cn.StartsWith("ARK-", StringComparison.Ordinal): root ??= c; break;
                case not null when cn.StartsWith("SEV-VLEK-", StringComparison.Ordinal): asvk ??= c; break;
                case not null when cn.StartsWith("SEV-", StringComparison.Ordinal): ask ??= c; break;
                default: break;
            }
        }

        return signer == SnpSigningKey.Vlek
            ? new SnpCollateral(vlek ?? vcek, asvk ?? ask, root)
            : new SnpCollateral(vcek ?? vlek, ask ?? asvk, root);
    }

    // Evidence brings the same (shared, see Certificates) instances report after report; decoding the subject name
    // each time cost more than the rest of the sorting.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<X509Certificate2, string?> CommonNames = [];

    private static string? CommonName(X509Certificate2 certificate) =>
        CommonNames.TryGetValue(certificate, out var cn) ? cn : CommonNames.GetValue(certificate, c => c.GetNameInfo(X509NameType.SimpleName, forIssuer: false));
}

/// <summary>Where the verifier gets certificates: files, an offline directory, AMD KDS, the evidence itself.</summary>
public interface ISnpCollateralSource
{
    ValueTask<SnpCollateral> GetAsync(SnpCollateralRequest request, CancellationToken cancellationToken);
}

/// <summary>Ready-made sources and their combination.</summary>
public static class SnpCollateralSources
{
    /// <summary>Only the certificates carried by the evidence (plus the embedded AMD CAs the verifier always has).</summary>
    public static ISnpCollateralSource Embedded() => Evidence();

    /// <summary>The certificates that came with the evidence (extended report table, Trustee's <c>cert_chain</c>).</summary>
    public static ISnpCollateralSource Evidence() => new EvidenceSource();

    /// <summary>
    /// Certificates given explicitly: the VCEK/VLEK and a chain as AMD KDS's <c>cert_chain</c> returns it
    /// (ASK or ASVK, then ARK) or the ASK alone. Position decides the role, so an ASK offered in the ARK's
    /// place is checked against the pinned ARK (and refused) rather than quietly ignored. A longer bundle
    /// (Trustee's ASK, ARK, ASVK files) is sorted by name.
    /// </summary>
    public static ISnpCollateralSource Files(X509Certificate2? leaf, IReadOnlyList<X509Certificate2> chain) =>
        new FixedSource(leaf, chain);

    /// <summary>Asks each source in turn until one supplies the leaf; earlier sources win for each certificate.</summary>
    public static ISnpCollateralSource Combine(params ISnpCollateralSource[] sources) => new CombinedSource(sources);

    private sealed class FixedSource(X509Certificate2? leaf, IReadOnlyList<X509Certificate2> chain) : ISnpCollateralSource
    {
        public ValueTask<SnpCollateral> GetAsync(SnpCollateralRequest request, CancellationToken cancellationToken)
        {
            var fromChain = chain.Count switch
            {
                0 => SnpCollateral.None,
                1 => new SnpCollateral(null, chain[0], null),
                2 => new SnpCollateral(null, chain[0], chain[1]),
                _ => SnpCollateral.FromCertificates(chain, request.Signer) with { Leaf = null },
            };
            return ValueTask.FromResult(new SnpCollateral(leaf, null, null).Or(fromChain));
        }
    }

    private sealed class CombinedSource(IReadOnlyList<ISnpCollateralSource> sources) : ISnpCollateralSource
    {
        public async ValueTask<SnpCollateral> GetAsync(SnpCollateralRequest request, CancellationToken cancellationToken)
        {
            var result = SnpCollateral.None;
            foreach (var source in sources)
            {
                result = result.Or(await source.GetAsync(request, cancellationToken).ConfigureAwait(false));
                if (result.HasLeaf)
                {
                    break;
                }
            }

            return result;
        }
    }

    private sealed class EvidenceSource : ISnpCollateralSource
    {
        public ValueTask<SnpCollateral> GetAsync(SnpCollateralRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult(SnpCollateral.FromCertificates(request.EvidenceCertificates, request.Signer));
    }
}
