using System.Security.Cryptography.X509Certificates;

namespace Veil.Attestation.Collateral;

/// <summary>
/// NVIDIA's trust anchors embedded in Veil, each pinned by the SHA-256 of its DER (as published in nvtrust and
/// cross-checked against NVIDIA's attestation-sdk and Trustee), so a corrupted resource fails at start-up.
/// </summary>
public static class NvidiaRoots
{
    private static readonly Lazy<X509Certificate2> DeviceRoot = new(() => Load(
        "nvidia-device-identity-ca.pem", "102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48"));

    private static readonly Lazy<X509Certificate2> RimRoot = new(() => Load(
        "nvidia-rim-root.pem", "12977b5115acb0381179279fffeb5a8c4d264971ebb32298023a465fa41df5d1"));

    /// <summary>NVIDIA Device Identity CA: the root of every GPU and NVSwitch device chain.</summary>
    public static X509Certificate2 DeviceIdentityCa => DeviceRoot.Value;

    /// <summary>NVIDIA CoRIM signing Root CA: the root of the RIM (SWID tag) signing chains.</summary>
    public static X509Certificate2 RimSigningRoot => RimRoot.Value;

    private static X509Certificate2 Load(string file, string pin)
    {
        var name = "Veil.Attestation.Roots." + file;
        using var stream = typeof(NvidiaRoots).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"embedded NVIDIA root {name} missing from the build");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        var cert = Certificates.LoadOne(buffer.ToArray(), name);
        return Certificates.Sha256Fingerprint(cert) == pin
            ? cert
            : throw new InvalidOperationException($"{name}: certificate does not match its pinned SHA-256");
    }
}
