using System.Security.Cryptography.X509Certificates;

namespace Veil.Attestation.Collateral;

/// <summary>
/// Intel's SGX Provisioning Certification Root CA, embedded in Veil and pinned by the SHA-256 of its DER
/// (as published by Intel and cross-checked against go-tdx-guest and dcap-qvl). Every PCK chain, TCB Info and
/// QE Identity signing chain and CRL of DCAP ends here; a supplied root must equal this one byte for byte.
/// </summary>
public static class IntelRoots
{
    public const string SgxRootSha256 = "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3";

    private static readonly Lazy<X509Certificate2> Root = new(Load);

    public static X509Certificate2 SgxRoot => Root.Value;

    private static X509Certificate2 Load()
    {
        const string name = "Veil.Attestation.Roots.intel-sgx-root.pem";
        using var stream = typeof(IntelRoots).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"embedded Intel root {name} missing from the build");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        var cert = Certificates.LoadOne(buffer.ToArray(), name);
        return Certificates.Sha256Fingerprint(cert) == SgxRootSha256
            ? cert
            : throw new InvalidOperationException($"{name}: certificate does not match its pinned SHA-256");
    }
}
