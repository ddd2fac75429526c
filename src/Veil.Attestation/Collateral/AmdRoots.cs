using System.Collections.Frozen;
using System.Security.Cryptography.X509Certificates;
using Veil.Attestation.Snp;

namespace Veil.Attestation.Collateral;

/// <summary>AMD's root (ARK) and signing CAs (ASK for VCEKs, ASVK for VLEKs) of one product line.</summary>
public sealed record AmdRootSet(SnpProduct Product, X509Certificate2 Ark, X509Certificate2 Ask, X509Certificate2 Asvk);

/// <summary>
/// The AMD certificates embedded in Veil. Each is pinned by the SHA-256 of its DER (as published in AMD KDS
/// and cross-checked across go-sev-guest, virtee/sev and microsoft/TEE-Attestation-Verification), so a
/// corrupted resource fails at start-up instead of silently trusting something else.
/// </summary>
public static class AmdRoots
{
    private static readonly FrozenDictionary<SnpProduct, string[]> Pins = new Dictionary<SnpProduct, string[]>
    {
        [SnpProduct.Milan] =
        [
            "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd",
            "67d303bd3905fd38db8b20e0793699870e7fa612eaad5dec358293fd8c0bac1b",
            "c5e081f59b7efab1fe2f8b505e159704e72f29cab7ef7cf628a05a42439082f5",
        ],
        [SnpProduct.Genoa] =
        [
            "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1",
            "5464738c1546aed5f2cecf1dc98c5c960a92e8913238a61711bc90ec6e828521",
            "197e610743a917d6b9bb982a5a9226ccc0a15b611be0619e626aca9151457372",
        ],
        [SnpProduct.Turin] =
        [
            "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a",
            "5b77ef5fe7a7a004fd9032668fba9d0fda22f88c4442069a479636a6ae3b3185",
            "104e10a8bd060a3c20a434261a57d0588fd65a88915b4f65b08bdecaf8df1a3c",
        ],
    }.ToFrozenDictionary();

    private static readonly FrozenDictionary<SnpProduct, Lazy<AmdRootSet>> Sets =
        Enum.GetValues<SnpProduct>().ToFrozenDictionary(p => p, p => new Lazy<AmdRootSet>(() => Load(p)));

    public static AmdRootSet For(SnpProduct product) => Sets[product].Value;

    private static AmdRootSet Load(SnpProduct product)
    {
        var name = $"Veil.Attestation.Roots.amd-{product.ToString().ToLowerInvariant()}.pem";
        using var stream = typeof(AmdRoots).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"embedded AMD roots {name} missing from the build");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        var certs = Certificates.Load(buffer.ToArray(), name);
        var pins = Pins[product];
        if (certs.Count != pins.Length)
        {
            throw new InvalidOperationException($"{name}: expected {pins.Length} certificates, found {certs.Count}");
        }

        for (var i = 0; i < pins.Length; i++)
        {
            if (Certificates.Sha256Fingerprint(certs[i]) != pins[i])
            {
                throw new InvalidOperationException($"{name}: certificate {i} does not match its pinned SHA-256");
            }
        }

        return new AmdRootSet(product, certs[0], certs[1], certs[2]);
    }
}
