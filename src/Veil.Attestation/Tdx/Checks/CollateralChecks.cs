using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Veil.Attestation.Collateral;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;

namespace Veil.Attestation.Tdx.Checks;

/// <summary>
/// Checks one collateral set: root CA CRL signed by the pinned root; TCB Info and QE Identity signing chains
/// (signer → pinned root, signer not revoked) and their signatures over the exact signed bytes; the PCK CRL
/// signed by the PCK CA that issued the quote's PCK. Signature results are computed once per collateral
/// instance (the sources hand out the same instance while it is current); times are checked on every use.
/// </summary>
internal sealed class CollateralChecks
{
    private static readonly ConditionalWeakTable<TdxCollateral, CollateralChecks> Cache = [];

    private readonly TdxCollateral collateral;
    private readonly List<VerificationFailure> fixedFailures = [];
    private readonly ConditionalWeakTable<PckChain, IReadOnlyList<VerificationFailure>> revocation = [];
    private readonly (string Name, ValidityPeriod Period)[] issuers;

    private CollateralChecks(TdxCollateral collateral)
    {
        this.collateral = collateral;
        RootCrl = Parse(() => collateral.RootCaCrl, "root_ca_crl");
        if (RootCrl is not null && RootCrl.VerifySignature(IntelRoots.SgxRoot) is { } why)
        {
            fixedFailures.Add(new("root_ca_crl.signature", "signed by Intel SGX Root CA", why));
        }

        var tcbSigned = SignedBody(collateral.TcbInfoSigned, collateral.TcbInfoIssuerChain, "tcb_info");
        TcbInfo = tcbSigned ? Parse(() => collateral.TcbInfo, "tcb_info") : null;
        var qeSigned = SignedBody(collateral.QeIdentitySigned, collateral.QeIdentityIssuerChain, "qe_identity");
        QeIdentity = qeSigned ? Parse(() => collateral.QeIdentity, "qe_identity") : null;
        PckCrl = Parse(() => collateral.PckCrl, "pck_crl");
        if (TcbInfo is { } t && (t.Id != "TDX" || t.Version < 3))
        {
            fixedFailures.Add(new("tcb_info.id", "TDX TCB Info (id TDX, version 3)", $"id {t.Id}, version {t.Version}"));
        }

        if (QeIdentity is { } q && q.Id != "TD_QE")
        {
            fixedFailures.Add(new("qe_identity.id", "TD_QE", q.Id));
        }

        issuers =
        [
            .. collateral.TcbInfoIssuerChain.Select((c, i) => ($"tcb_info.issuer_chain[{i}].validity", ValidityPeriod.Of(c))),
            .. collateral.QeIdentityIssuerChain.Select((c, i) => ($"qe_identity.issuer_chain[{i}].validity", ValidityPeriod.Of(c))),
            .. collateral.PckCrlIssuerChain.Select((c, i) => ($"pck_crl.issuer_chain[{i}].validity", ValidityPeriod.Of(c))),
        ];
    }

    public IntelCrl? RootCrl { get; }

    public IntelCrl? PckCrl { get; }

    /// <summary>Null unless its signature verified and it parsed.</summary>
    public TcbInfo? TcbInfo { get; }

    public QeIdentity? QeIdentity { get; }

    public static CollateralChecks For(TdxCollateral collateral) => Cache.GetValue(collateral, c => new CollateralChecks(c));

    /// <summary>Every collateral check at <paramref name="now"/> for a quote whose PCK chain is <paramref name="pck"/>.</summary>
    public void Check(PckChain pck, DateTimeOffset now, List<VerificationFailure> failures)
    {
        failures.AddRange(fixedFailures);
        foreach (var (name, period) in issuers)
        {
            if (period.Check(now) is { } why)
            {
                failures.Add(new(name, "valid at the verification time", why));
            }
        }

        Fresh("root_ca_crl", RootCrl?.ThisUpdate, RootCrl?.NextUpdate, now, failures);
        Fresh("pck_crl", PckCrl?.ThisUpdate, PckCrl?.NextUpdate, now, failures);
        Fresh("tcb_info", TcbInfo?.IssueDate, TcbInfo?.NextUpdate, now, failures);
        Fresh("qe_identity", QeIdentity?.IssueDate, QeIdentity?.NextUpdate, now, failures);

        // Which CRL entries and signatures apply to this chain does not change while this collateral is current.
        failures.AddRange(revocation.TryGetValue(pck, out var known) ? known : revocation.GetValue(pck, Revocation));
    }

    private List<VerificationFailure> Revocation(PckChain pck)
    {
        var failures = new List<VerificationFailure>();
        if (pck.Ca is { } ca && RootCrl is not null && RootCrl.IsRevoked(ca))
        {
            failures.Add(new("pck.ca.revoked", "not on the Intel SGX Root CA CRL", $"serial {ca.SerialNumber} revoked"));
        }

        if (pck.Ca is { } issuer && PckCrl is not null)
        {
            if (PckCrl.VerifySignature(issuer) is { } why)
            {
                failures.Add(new("pck_crl.signature", $"signed by {issuer.GetNameInfo(X509NameType.SimpleName, false)} (the quote's PCK CA)", why));
            }
            else if (pck.Leaf is { } leaf && PckCrl.IsRevoked(leaf))
            {
                failures.Add(new("pck.revoked", "not on the PCK CA CRL", $"serial {leaf.SerialNumber} revoked"));
            }
        }

        return failures;
    }

    private static void Fresh(string name, DateTimeOffset? issued, DateTimeOffset? next, DateTimeOffset now, List<VerificationFailure> failures)
    {
        if (issued is { } i && now < i)
        {
            failures.Add(new($"{name}.issue_date", $"issued at or before {Iso(now)}", $"issued {Iso(i)}"));
        }

        if (next is { } n && now > n)
        {
            failures.Add(new($"{name}.next_update", "current at the verification time", $"expired: nextUpdate {Iso(n)}, now {Iso(now)}"));
        }
        else if (issued is not null && next is null)
        {
            failures.Add(new($"{name}.next_update", "a nextUpdate time", "absent"));
        }
    }

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ");

    private T? Parse<T>(Func<T> parse, string name)
        where T : class
    {
        try
        {
            return parse();
        }
        catch (EvidenceFormatException e)
        {
            fixedFailures.Add(new(e.Field.StartsWith(name, StringComparison.Ordinal) ? e.Field : $"{name}.format", "well-formed Intel collateral", e.Reason));
            return null;
        }
    }

    /// <summary>Signer chain to the pinned root, signer not revoked, ECDSA P-256 signature over the exact body.</summary>
    private bool SignedBody(SignedJson signed, IReadOnlyList<X509Certificate2> chain, string name)
    {
        if (chain.Count is < 1 or > 2)
        {
            fixedFailures.Add(new($"{name}.issuer_chain", "Intel SGX TCB Signing[, Intel SGX Root CA]", $"{chain.Count} certificates"));
            return false;
        }

        var root = IntelRoots.SgxRoot;
        var ok = true;
        if (chain.Count == 2 && !chain[1].RawDataMemory.Span.SequenceEqual(root.RawDataMemory.Span))
        {
            fixedFailures.Add(new($"{name}.issuer_chain.root", $"Intel SGX Root CA sha256:{IntelRoots.SgxRootSha256}", $"{chain[1].Subject}"));
            ok = false;
        }

        var signer = chain[0];
        if (CertificateSignature.Verify(signer, root) is { } why)
        {
            fixedFailures.Add(new($"{name}.issuer_chain.signature", "signed by Intel SGX Root CA", why));
            ok = false;
        }

        if (RootCrl is not null && RootCrl.IsRevoked(signer))
        {
            fixedFailures.Add(new($"{name}.issuer_chain.revoked", "not on the Intel SGX Root CA CRL", $"serial {signer.SerialNumber} revoked"));
            ok = false;
        }

        using var key = signer.GetECDsaPublicKey();
        if (key is null || !key.VerifyData(signed.Body.Span, signed.Signature.Span, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
        {
            fixedFailures.Add(new($"{name}.signature", $"ECDSA P-256 signature by {signer.GetNameInfo(X509NameType.SimpleName, false)} over the exact signed JSON", "invalid"));
            ok = false;
        }

        return ok;
    }
}
