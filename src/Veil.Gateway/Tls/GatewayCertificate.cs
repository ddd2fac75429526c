using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Veil.Protocol.AttestedTls;

namespace Veil.Gateway.Tls;

/// <summary>
/// The gateway's TLS identity: an ECDSA P-256 key made in the VM's memory at start and never written anywhere, in a
/// self-signed certificate. Clients pin the key's SPKI hash from the evidence, so names, issuer and dates carry no trust.
/// </summary>
internal sealed class GatewayCertificate : IDisposable
{
    private GatewayCertificate(X509Certificate2 certificate)
    {
        Certificate = certificate;
        SpkiSha256 = AttestedTlsBinding.SpkiSha256(certificate);
    }

    public X509Certificate2 Certificate { get; }

    /// <summary>K of docs/attested-tls.md: bound into every evidence document.</summary>
    public byte[] SpkiSha256 { get; }

    public static GatewayCertificate Create(TimeProvider time)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=veil-gateway", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var now = time.GetUtcNow();
        return new GatewayCertificate(request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(1)));
    }

    public void Dispose() => Certificate.Dispose();
}
