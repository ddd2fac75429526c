using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.Tdx.IntelCollateral;

/// <summary>
/// Intel DCAP collateral for one quote: TCB Info and QE Identity (exact signed bytes + signature) with their
/// issuer chains, the PCK CA CRL with its issuer chain, and the root CA CRL. Nothing here is trusted by
/// being here: the verifier checks every signature up to the embedded Intel root at the verification time.
/// Parsed views (<see cref="TcbInfo"/>, <see cref="QeIdentity"/>, CRLs) are made once per instance.
/// </summary>
public sealed class TdxCollateral
{
    private readonly Lazy<TcbInfo> tcbInfo;
    private readonly Lazy<QeIdentity> qeIdentity;
    private readonly Lazy<IntelCrl> pckCrl;
    private readonly Lazy<IntelCrl> rootCaCrl;

    public TdxCollateral(
        SignedJson tcbInfo,
        IReadOnlyList<X509Certificate2> tcbInfoIssuerChain,
        SignedJson qeIdentity,
        IReadOnlyList<X509Certificate2> qeIdentityIssuerChain,
        ReadOnlyMemory<byte> pckCrl,
        IReadOnlyList<X509Certificate2> pckCrlIssuerChain,
        ReadOnlyMemory<byte> rootCaCrl)
    {
        TcbInfoSigned = tcbInfo;
        TcbInfoIssuerChain = tcbInfoIssuerChain;
        QeIdentitySigned = qeIdentity;
        QeIdentityIssuerChain = qeIdentityIssuerChain;
        PckCrlBytes = pckCrl;
        PckCrlIssuerChain = pckCrlIssuerChain;
        RootCaCrlBytes = rootCaCrl;
        this.tcbInfo = new(() => TcbInfo.Parse(tcbInfo.Body));
        this.qeIdentity = new(() => QeIdentity.Parse(qeIdentity.Body));
        this.pckCrl = new(() => IntelCrl.Parse(pckCrl.Span, "pck_crl"));
        this.rootCaCrl = new(() => IntelCrl.Parse(rootCaCrl.Span, "root_ca_crl"));
    }

    public SignedJson TcbInfoSigned { get; }

    public IReadOnlyList<X509Certificate2> TcbInfoIssuerChain { get; }

    public SignedJson QeIdentitySigned { get; }

    public IReadOnlyList<X509Certificate2> QeIdentityIssuerChain { get; }

    public ReadOnlyMemory<byte> PckCrlBytes { get; }

    public IReadOnlyList<X509Certificate2> PckCrlIssuerChain { get; }

    public ReadOnlyMemory<byte> RootCaCrlBytes { get; }

    /// <exception cref="EvidenceFormatException">The TCB Info JSON is malformed.</exception>
    public TcbInfo TcbInfo => tcbInfo.Value;

    public QeIdentity QeIdentity => qeIdentity.Value;

    public IntelCrl PckCrl => pckCrl.Value;

    public IntelCrl RootCaCrl => rootCaCrl.Value;

    /// <summary>
    /// The single-file collateral of dcap-qvl (<c>QuoteCollateralV3</c> as JSON): <c>tcb_info</c> and
    /// <c>qe_identity</c> are JSON strings holding the exact signed text, signatures and CRLs are hex, chains PEM.
    /// </summary>
    public static TdxCollateral FromJson(ReadOnlyMemory<byte> json)
    {
        const string p = "collateral";
        using var doc = JsonFields.Parse(json, p);
        var root = JsonFields.Object(doc.RootElement, p);
        return new TdxCollateral(
            new SignedJson(Encoding.UTF8.GetBytes(JsonFields.String(root, "tcb_info", p)), SignedJson.ParseSignature(JsonFields.String(root, "tcb_info_signature", p), $"{p}.tcb_info_signature")),
            Chain(root, "tcb_info_issuer_chain"),
            new SignedJson(Encoding.UTF8.GetBytes(JsonFields.String(root, "qe_identity", p)), SignedJson.ParseSignature(JsonFields.String(root, "qe_identity_signature", p), $"{p}.qe_identity_signature")),
            Chain(root, "qe_identity_issuer_chain"),
            CrlText(root, "pck_crl"),
            Chain(root, "pck_crl_issuer_chain"),
            CrlText(root, "root_ca_crl"));
    }

    private static IReadOnlyList<X509Certificate2> Chain(JsonElement root, string name) =>
        Certificates.Load(Encoding.ASCII.GetBytes(JsonFields.String(root, name, "collateral")), $"collateral.{name}");

    /// <summary>Hex in dcap-qvl's files; also accepts PEM text (some PCCS clients store that).</summary>
    private static byte[] CrlText(JsonElement root, string name)
    {
        var v = JsonFields.Get(root, name, "collateral");
        return v.ValueKind switch
        {
            JsonValueKind.String => Encoding.ASCII.GetBytes(JsonFields.Text(v, $"collateral.{name}")),
            // Some serializers write a byte vector as an array of numbers.
            JsonValueKind.Array => [.. v.EnumerateArray().Select((b, i) => b.TryGetByte(out var x) ? x : throw new EvidenceFormatException($"collateral.{name}[{i}]", "not a byte"))],
            _ => throw new EvidenceFormatException($"collateral.{name}", "expected hex text"),
        };
    }
}

/// <summary>What the verifier knows when it asks for collateral: from the PCK certificate.</summary>
/// <param name="Fmspc">FMSPC, 6 bytes.</param>
/// <param name="PckCa">"platform" or "processor": which PCK CA CRL is needed.</param>
public sealed record TdxCollateralRequest(ReadOnlyMemory<byte> Fmspc, string PckCa)
{
    public string FmspcHex => Hex.Lower(Fmspc.Span);
}

/// <summary>Where the verifier gets collateral: a file, an offline directory, Intel PCS or a PCCS.</summary>
public interface ITdxCollateralSource
{
    /// <summary>Null when this source has no collateral for the request.</summary>
    ValueTask<TdxCollateral?> GetAsync(TdxCollateralRequest request, CancellationToken cancellationToken);
}

/// <summary>Ready-made sources.</summary>
public static class TdxCollateralSources
{
    /// <summary>No collateral: the verifier then fails with <c>collateral</c> unless told to check signatures only.</summary>
    public static ITdxCollateralSource None { get; } = new FixedSource(null);

    /// <summary>One collateral set for every quote (a dcap-qvl collateral file, a test).</summary>
    public static ITdxCollateralSource Fixed(TdxCollateral? collateral) => new FixedSource(collateral);

    private sealed class FixedSource(TdxCollateral? collateral) : ITdxCollateralSource
    {
        public ValueTask<TdxCollateral?> GetAsync(TdxCollateralRequest request, CancellationToken cancellationToken) => ValueTask.FromResult(collateral);
    }
}
