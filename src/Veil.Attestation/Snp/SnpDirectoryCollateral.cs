using System.Security.Cryptography.X509Certificates;

namespace Veil.Attestation.Snp;

/// <summary>
/// An offline collateral directory. Its layout mirrors AMD KDS paths, so the KDS fetcher's cache can be
/// copied to an air-gapped site as it is:
/// <code>
/// vcek/v1/{Milan|Genoa|Turin}/{hwid hex}_{reported TCB as 16 hex digits}.der
/// vcek/v1/{product}/cert_chain.pem      (ASK then ARK)
/// vlek/v1/{product}/cert_chain.pem      (ASVK then ARK)
/// </code>
/// For a directory assembled by hand, <c>vcek.der|pem</c>, <c>vlek.der|pem</c> and <c>cert_chain.pem</c> at
/// the top are read too.
/// </summary>
public sealed class SnpDirectoryCollateral(string root) : ISnpCollateralSource
{
    public string Root { get; } = root;

    public static string LeafPath(string root, SnpProduct product, SnpCollateralRequest request) =>
        Path.Combine(root, "vcek", "v1", product.Name(), $"{HwIdHex(product, request.ChipId.Span)}_{request.ReportedTcb.Raw:x16}.der");

    public static string ChainPath(string root, SnpProduct product, SnpSigningKey signer) =>
        Path.Combine(root, signer == SnpSigningKey.Vlek ? "vlek" : "vcek", "v1", product.Name(), "cert_chain.pem");

    /// <summary>KDS identifies a chip by its full 64-byte id on Milan/Genoa and by the first 8 bytes on Turin.</summary>
    public static string HwIdHex(SnpProduct product, ReadOnlySpan<byte> chipId) =>
        Hex.Lower(product == SnpProduct.Turin ? chipId[..8] : chipId);

    public ValueTask<SnpCollateral> GetAsync(SnpCollateralRequest request, CancellationToken cancellationToken)
    {
        var result = SnpCollateral.None;
        IEnumerable<SnpProduct> products = request.Product is { } p ? [p] : Enum.GetValues<SnpProduct>();
        foreach (var product in products)
        {
            var leaf = request.Signer == SnpSigningKey.Vcek ? TryLoad(LeafPath(Root, product, request)) : [];
            var chain = TryLoad(ChainPath(Root, product, request.Signer));
            if (leaf.Count > 0)
            {
                result = result.Or(new SnpCollateral(leaf[0], chain.ElementAtOrDefault(0), chain.ElementAtOrDefault(1)));
                break;
            }
        }

        if (!result.HasLeaf)
        {
            var name = request.Signer == SnpSigningKey.Vlek ? "vlek" : "vcek";
            var flatLeaf = TryLoad(Path.Combine(Root, name + ".der")).Concat(TryLoad(Path.Combine(Root, name + ".pem"))).FirstOrDefault();
            var flatChain = TryLoad(Path.Combine(Root, "cert_chain.pem"));
            result = result.Or(new SnpCollateral(flatLeaf, flatChain.ElementAtOrDefault(0), flatChain.ElementAtOrDefault(1)));
        }

        return ValueTask.FromResult(result);
    }

    private static IReadOnlyList<X509Certificate2> TryLoad(string path) =>
        File.Exists(path) ? Certificates.Load(File.ReadAllBytes(path), path) : [];
}
