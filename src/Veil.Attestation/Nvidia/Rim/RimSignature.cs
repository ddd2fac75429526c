using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Security.Cryptography.Xml;
using System.Xml;

namespace Veil.Attestation.Nvidia.Rim;

/// <summary>
/// The enveloped XML signature of a RIM, checked with .NET's <see cref="SignedXml"/>. SignedXml knows neither
/// C14N 1.1 nor ecdsa-sha384, so both are registered here (see the two classes below for why that is sound).
/// Only the exact shape NVIDIA uses is accepted: one Signature, child of the root, one Reference to the whole
/// document, transforms enveloped-signature then C14N 1.1, SHA-384 digest, ecdsa-sha384 — anything else
/// (XPath/XSLT transforms, other references, HMAC) is refused before any cryptography runs.
/// </summary>
internal static class RimSignature
{
    public const string C14N11 = "http://www.w3.org/2006/12/xml-c14n11";
    public const string EcdsaSha384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384";
    public const string Sha384 = "http://www.w3.org/2001/04/xmldsig-more#sha384";
    private const string XmlNamespace = "http://www.w3.org/XML/1998/namespace";

    private static readonly Lazy<bool> Registered = new(() =>
    {
        CryptoConfig.AddAlgorithm(typeof(XmlDsigC14N11Transform), C14N11);
        CryptoConfig.AddAlgorithm(typeof(EcdsaSha384SignatureDescription), EcdsaSha384);
        return true;
    });

    /// <summary>The certificates in KeyInfo (leaf first, as NVIDIA orders them) and the reason the signature fails, or null.</summary>
    public static (IReadOnlyList<X509Certificate2> Chain, string? Problem) Check(RimDocument rim)
    {
        _ = Registered.Value;
        var doc = rim.Xml;
        var root = doc.DocumentElement!;
        var signatures = doc.GetElementsByTagName("Signature", SignedXml.XmlDsigNamespaceUrl);
        if (signatures.Count != 1 || signatures[0]!.ParentNode != root)
        {
            return ([], $"expected one Signature element under the root, found {signatures.Count}");
        }

        var element = (XmlElement)signatures[0]!;
        var signed = new SignedXml(doc);
        signed.SafeCanonicalizationMethods.Add(C14N11);
        try
        {
            signed.LoadXml(element);
        }
        catch (Exception e) when (e is CryptographicException or FormatException or XmlException)
        {
            return ([], "malformed Signature: " + e.Message);
        }

        var certs = new List<X509Certificate2>();
        foreach (var clause in signed.KeyInfo)
        {
            if (clause is KeyInfoX509Data { Certificates: { } list })
            {
                certs.AddRange(list.Cast<X509Certificate2>());
            }
        }

        if (ShapeProblem(signed, root, element) is { } shape)
        {
            return (certs, shape);
        }

        if (certs.Count == 0)
        {
            return (certs, "no X509Certificate in KeyInfo");
        }

        try
        {
            // Inside the try: a malformed public key in a KeyInfo certificate throws while decoding.
            using var key = certs[0].GetECDsaPublicKey();
            if (key is null || key.KeySize != 384)
            {
                return (certs, "the RIM signing certificate has no ECDSA P-384 key");
            }

            return (certs, signed.CheckSignature(key) ? null : "XML signature does not verify (digest or signature mismatch)");
        }
        catch (Exception e) when (e is CryptographicException or FormatException or XmlException)
        {
            return (certs, "XML signature could not be checked: " + e.Message);
        }
    }

    private static string? ShapeProblem(SignedXml signed, XmlElement root, XmlElement signature)
    {
        // C14N 1.0 and 1.1 differ only in how xml:id/xml:base are inherited into a document subset. The
        // reference covers the whole document and SignedInfo's ancestors are the root and Signature, so with
        // no xml:* attributes on those two the outputs are identical; with them, refuse rather than guess.
        foreach (var e in new[] { root, signature })
        {
            foreach (XmlAttribute a in e.Attributes)
            {
                if (a.NamespaceURI == XmlNamespace)
                {
                    return $"xml:{a.LocalName} on {e.LocalName} is not supported";
                }
            }
        }

        var info = signed.SignedInfo!;
        if (info.SignatureMethod != EcdsaSha384)
        {
            return $"signature method {info.SignatureMethod} (expected {EcdsaSha384})";
        }

        if (info.CanonicalizationMethod != C14N11)
        {
            return $"canonicalization {info.CanonicalizationMethod} (expected {C14N11})";
        }

        if (info.References.Count != 1 || info.References[0] is not Reference { Uri: "" } reference)
        {
            return "expected exactly one Reference to the whole document (URI=\"\")";
        }

        if (reference.DigestMethod != Sha384)
        {
            return $"digest method {reference.DigestMethod} (expected {Sha384})";
        }

        var transforms = reference.TransformChain;
        if (transforms.Count != 2 || transforms[0] is not XmlDsigEnvelopedSignatureTransform || transforms[1].Algorithm != C14N11)
        {
            return "transforms must be enveloped-signature then C14N 1.1";
        }

        return null;
    }
}

/// <summary>
/// C14N 1.1 (http://www.w3.org/2006/12/xml-c14n11) for whole-document references: the same output as
/// C14N 1.0, which .NET implements (see RimSignature for why the shape check makes that exact). Public only
/// because CryptoConfig accepts nothing else.
/// </summary>
public sealed class XmlDsigC14N11Transform : XmlDsigC14NTransform
{
    public XmlDsigC14N11Transform()
    {
        Algorithm = RimSignature.C14N11;
    }
}

/// <summary>
/// ecdsa-sha384 (RFC 6931 §2.3.4): SHA-384 digest, signature value raw r‖s as XML-DSig 1.1 specifies.
/// Public only because CryptoConfig accepts nothing else; it verifies and never signs.
/// </summary>
public sealed class EcdsaSha384SignatureDescription : SignatureDescription
{
    public EcdsaSha384SignatureDescription()
    {
        KeyAlgorithm = typeof(ECDsa).AssemblyQualifiedName;
        DigestAlgorithm = typeof(SHA384).AssemblyQualifiedName;
    }

    public override HashAlgorithm CreateDigest() => SHA384.Create();

    public override AsymmetricSignatureDeformatter CreateDeformatter(AsymmetricAlgorithm key) =>
        new Deformatter(key as ECDsa ?? throw new CryptographicException("ecdsa-sha384 needs an ECDSA key"));

    public override AsymmetricSignatureFormatter CreateFormatter(AsymmetricAlgorithm key) =>
        throw new NotSupportedException("Veil only verifies RIM signatures");

    private sealed class Deformatter(ECDsa key) : AsymmetricSignatureDeformatter
    {
        public override void SetKey(AsymmetricAlgorithm key) => throw new NotSupportedException();

        public override void SetHashAlgorithm(string strName)
        {
        }

        public override bool VerifySignature(byte[] rgbHash, byte[] rgbSignature) =>
            rgbSignature.Length == 96 && key.VerifyHash(rgbHash, rgbSignature, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    }
}
