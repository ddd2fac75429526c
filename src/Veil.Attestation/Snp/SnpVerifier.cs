using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Veil.Attestation.Collateral;
using Veil.Abi.Tee;

namespace Veil.Attestation.Snp;

/// <summary>
/// Verifies an SEV-SNP report: the certificate chain VCEK/VLEK → ASK/ASVK → pinned ARK (RSASSA-PSS), the
/// certificate's TCB and chip id against the report, the signer type, and the ECDSA P-384 signature over
/// bytes 0x000–0x29F. Every failed check is named; claims come with the result either way.
/// Modelled on go-sev-guest verify/verify.go::SnpAttestation.
/// </summary>
public sealed class SnpVerifier
{
    private readonly ISnpCollateralSource collateral;
    private readonly TimeProvider time;
    private readonly SnpChainCache cache = new();

    public SnpVerifier(ISnpCollateralSource collateral, TimeProvider time)
    {
        this.collateral = collateral;
        this.time = time;
    }

    /// <summary>Parses (raw, hex or Trustee JSON; see <see cref="SnpEvidence.Parse"/>) and verifies.</summary>
    /// <exception cref="EvidenceFormatException">The evidence cannot be parsed.</exception>
    public Task<VerificationResult> VerifyAsync(ReadOnlyMemory<byte> evidence, ReadOnlyMemory<byte>? expectedReportData, CancellationToken cancellationToken = default) =>
        VerifyAsync(SnpEvidence.Parse(evidence.Span), expectedReportData, cancellationToken);

    public async Task<VerificationResult> VerifyAsync(SnpEvidence evidence, ReadOnlyMemory<byte>? expectedReportData, CancellationToken cancellationToken = default)
    {
        if (expectedReportData is { Length: not 64 } bad)
        {
            throw new ArgumentException($"expected report data must be 64 bytes, got {bad.Length}", nameof(expectedReportData));
        }

        var report = evidence.Report;
        var failures = new List<VerificationFailure>();
        SnpReportChecks.Check(report, failures);

        SnpProduct? product = null;
        if (report.CpuId is { } cpu)
        {
            product = SnpProducts.FromCpuId(cpu);
            if (product is null)
            {
                failures.Add(new("report.cpuid", "an SEV-SNP EPYC (Milan, Genoa, Turin)", $"family 0x{cpu.Family:x2} model 0x{cpu.Model:x2}"));
            }
        }

        var signer = report.SignerInfo.SigningKey is SnpSigningKey.Vlek ? SnpSigningKey.Vlek : SnpSigningKey.Vcek;
        var request = new SnpCollateralRequest(product, signer, report.ChipId, report.ReportedTcb, evidence.Certificates);
        var found = await collateral.GetAsync(request, cancellationToken).ConfigureAwait(false);
        var leafName = signer == SnpSigningKey.Vlek ? "vlek" : "vcek";
        if (found.Leaf is null)
        {
            failures.Add(new($"collateral.{leafName}", $"a {leafName.ToUpperInvariant()} certificate for this report", "none supplied or found"));
            return Result(report, product, failures);
        }

        var leaf = SnpSigningCertificate.From(found.Leaf, leafName);
        if (leaf.Kind != signer)
        {
            failures.Add(new("signer.type", $"{leafName} (the report's signing-key field)", leaf.Kind.ToString().ToLowerInvariant()));
        }

        var certProduct = leaf.Product;
        if (product is not null && certProduct is not null && certProduct != product)
        {
            failures.Add(new($"{leafName}.product_name", product.Value.Name(), leaf.ProductName));
        }

        product ??= certProduct;
        if (product is null)
        {
            failures.Add(new($"{leafName}.product_name", "Milan, Genoa or Turin", leaf.ProductName ?? "absent"));
            return Result(report, product, failures);
        }

        var chain = VerifyChain(leaf, found, product.Value, failures);
        CheckLeafMatchesReport(leaf, report, product.Value, failures);

        if (chain is not null)
        {
            Span<byte> signature = stackalloc byte[96];
            ToP1363(report.SignatureR.Span, signature[..48]);
            ToP1363(report.SignatureS.Span, signature[48..]);
            if (!chain.VerifyReport(report.SignedBytes, signature))
            {
                failures.Add(new("report.signature", $"valid ECDSA P-384 signature by the {leafName.ToUpperInvariant()}", "invalid"));
            }
        }

        if (expectedReportData is { } expected && !expected.Span.SequenceEqual(report.ReportData.Span))
        {
            failures.Add(new("report.report_data", Hex.Lower(expected.Span), Hex.Lower(report.ReportData.Span)));
        }

        return Result(report, product, failures, leaf.Kind);
    }

    private VerifiedChain? VerifyChain(SnpSigningCertificate leaf, SnpCollateral found, SnpProduct product, List<VerificationFailure> failures)
    {
        var roots = AmdRoots.For(product);
        var leafName = leaf.Kind == SnpSigningKey.Vlek ? "vlek" : "vcek";
        var caName = leaf.Kind == SnpSigningKey.Vlek ? "asvk" : "ask";
        var ark = roots.Ark;
        if (found.Root is { } suppliedRoot && !suppliedRoot.RawDataMemory.Span.SequenceEqual(ark.RawDataMemory.Span))
        {
            failures.Add(new("ark.pinned", $"ARK-{product.Name()} sha256:{Certificates.Sha256Fingerprint(ark)}",
                $"{suppliedRoot.Subject} sha256:{Certificates.Sha256Fingerprint(suppliedRoot)}"));
            return null;
        }

        var intermediate = found.Intermediate ?? (leaf.Kind == SnpSigningKey.Vlek ? roots.Asvk : roots.Ask);
        var now = time.GetUtcNow();
        var valid = true;
        foreach (var (name, cert) in new[] { ("ark", ark), (caName, intermediate), (leafName, leaf.Certificate) })
        {
            if (CertificateSignature.CheckValidity(cert, now) is { } why)
            {
                failures.Add(new($"{name}.validity", "valid at the verification time", why));
                valid = false;
            }
        }

        var key = SnpChainCache.Key(leaf.Certificate, intermediate, ark);
        if (cache.TryGet(key, out var cached))
        {
            return valid ? cached : null;
        }

        var chainOk = true;
        foreach (var (name, subject, issuer) in new[] { ("ark", ark, ark), (caName, intermediate, ark), (leafName, leaf.Certificate, intermediate) })
        {
            if (CertificateSignature.Verify(subject, issuer) is { } why)
            {
                failures.Add(new($"{name}.signature", $"signed by {issuer.GetNameInfo(X509NameType.SimpleName, false)}", why));
                chainOk = false;
            }
        }

        var ec = leaf.Certificate.GetECDsaPublicKey();
        if (ec is null || ec.KeySize != 384)
        {
            failures.Add(new($"{leafName}.key", "ECDSA P-384 public key", ec is null ? "not an EC key" : $"EC key of {ec.KeySize} bits"));
            ec?.Dispose();
            return null;
        }

        if (!chainOk)
        {
            ec.Dispose();
            return null;
        }

        var verified = new VerifiedChain(leaf, ec);
        cache.Add(key, verified);
        return valid ? verified : null;
    }

    /// <summary>The certificate must be for this chip (VCEK) and for exactly the TCB the report says it used.</summary>
    private static void CheckLeafMatchesReport(SnpSigningCertificate leaf, SnpReport report, SnpProduct product, List<VerificationFailure> failures)
    {
        var name = leaf.Kind == SnpSigningKey.Vlek ? "vlek" : "vcek";
        var tcb = report.ReportedTcb.Decode(product.Layout());
        Compare($"{name}.tcb.bootloader", tcb.Bootloader, leaf.BlSpl);
        Compare($"{name}.tcb.tee", tcb.Tee, leaf.TeeSpl);
        Compare($"{name}.tcb.snp", tcb.Snp, leaf.SnpSpl);
        Compare($"{name}.tcb.microcode", tcb.Microcode, leaf.UcodeSpl);
        if (tcb.Fmc is { } fmc)
        {
            Compare($"{name}.tcb.fmc", fmc, leaf.FmcSpl);
        }

        if (leaf.Kind == SnpSigningKey.Vcek)
        {
            var chip = product == SnpProduct.Turin ? report.ChipId.Span[..8] : report.ChipId.Span;
            if (leaf.HwId is not { } hwId || !hwId.Span.SequenceEqual(chip))
            {
                failures.Add(new("vcek.hwid", Hex.Lower(chip), leaf.HwId is { } h ? Hex.Lower(h.Span) : "absent"));
            }
        }

        void Compare(string check, byte reported, long? certified)
        {
            if (certified != reported)
            {
                failures.Add(new(check, reported.ToString(), certified?.ToString() ?? "absent"));
            }
        }
    }

    /// <summary>The report stores R and S little-endian in 72 bytes; P1363 wants 48 big-endian bytes each.</summary>
    private static void ToP1363(ReadOnlySpan<byte> littleEndian72, Span<byte> bigEndian48) => Veil.Abi.Snp.AmdEcdsa.ToBigEndian48(littleEndian72, bigEndian48);

    private static VerificationResult Result(SnpReport report, SnpProduct? product, List<VerificationFailure> failures, SnpSigningKey? signer = null) =>
        new(TeeNames.Snp, SnpClaims.From(report, product, signer ?? report.SignerInfo.SigningKey), failures);
}
