using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Veil.Attestation.Collateral;
using Veil.Attestation.Nvidia.Rim;

namespace Veil.Attestation.Nvidia;

/// <summary>
/// Finds and checks one RIM for a device (nvtrust rim/__init__.py verify order): the version must match the
/// report, the signing chain must reach the pinned NVIDIA RIM root and be valid at the verification time, OCSP
/// (when supplied) must not say revoked, and the signature must verify (XML-DSig for a SWID tag, COSE_Sign1 for
/// a CoRIM, whose rim-validity must also hold). Every problem is a named failure; a RIM that is not supplied at
/// all is a finding, since only policy can say whether unchecked measurements are acceptable.
/// <paramref name="root"/> replaces the pinned root only in tests, which cannot sign with NVIDIA's key.
/// </summary>
internal sealed class RimCheck(INvidiaCollateralSource collateral, NvidiaChain chains, OcspCheck ocsp, X509Certificate2? root = null)
{
    private readonly X509Certificate2 rimRoot = root ?? NvidiaRoots.RimSigningRoot;

    // Parsing and the signature depend only on the bytes, so they are done once per RIM (by SHA-256);
    // time-dependent checks (validity, OCSP) run on every use. Only documents that parsed are remembered.
    private readonly ConcurrentDictionary<string, (RimDocument Rim, IReadOnlyList<X509Certificate2> Chain, string? Problem)> documents = new(StringComparer.Ordinal);

    /// <summary>The RIM to compare with, or null when none of this kind was supplied.</summary>
    public async Task<RimDocument?> RunAsync(
        NvidiaRimRequest request, string name, DateTimeOffset now, List<VerificationFailure> failures, List<string> findings, CancellationToken cancellationToken)
    {
        var candidates = await collateral.GetRimsAsync(request, cancellationToken).ConfigureAwait(false);
        var parsed = new List<(RimDocument Rim, IReadOnlyList<X509Certificate2> Chain, string? Problem)>();
        foreach (var file in candidates)
        {
            try
            {
                var loaded = Load(file);
                if (loaded.Rim.Kind == request.Kind)
                {
                    parsed.Add(loaded);
                }
            }
            catch (EvidenceFormatException e)
            {
                failures.Add(new($"{name}.schema", "a well-formed NVIDIA RIM (SWID tag or CoRIM)", e.Message));
            }
        }

        if (parsed.Count == 0)
        {
            findings.Add($"{name}: no RIM supplied for {request.Id}; measurements not checked against it");
            return null;
        }

        var match = parsed.FindIndex(r => string.Equals(r.Rim.Version, request.Version, StringComparison.OrdinalIgnoreCase));
        var (chosen, signers, problem) = parsed[Math.Max(0, match)];
        if (match < 0)
        {
            failures.Add(new($"{name}.version", request.Version, chosen.Version));
        }

        var chain = CheckChain(chosen, signers, problem, name, now, failures);
        if (chain is not null)
        {
            var full = NvidiaChain.Complete(chain, rimRoot);
            for (var i = 0; i < full.Count - 1; i++)
            {
                await ocsp.RunAsync(full[i], full[i + 1], $"{name}.chain[{i}]", now, failures, findings, cancellationToken).ConfigureAwait(false);
            }
        }

        return chosen;
    }

    private (RimDocument Rim, IReadOnlyList<X509Certificate2> Chain, string? Problem) Load(NvidiaRimFile file)
    {
        var key = Convert.ToHexString(SHA256.HashData(file.Bytes.Span));
        if (documents.TryGetValue(key, out var known))
        {
            return known;
        }

        var rim = RimDocument.Parse(file.Bytes.Span, file.Origin);
        var (chain, problem) = Signature(rim);
        if (documents.Count > 1024)
        {
            documents.Clear();
        }

        return documents.GetOrAdd(key, (rim, chain, problem));
    }

    /// <summary>The RIM's signing chain (to the pinned RIM root, valid now), its signature and a CoRIM's rim-validity; returns the chain when its signatures hold.</summary>
    public IReadOnlyList<X509Certificate2>? CheckDocument(RimDocument rim, string name, DateTimeOffset now, List<VerificationFailure> failures)
    {
        var (chain, problem) = Signature(rim);
        return CheckChain(rim, chain, problem, name, now, failures);
    }

    /// <summary>The signer chain and the signature problem (null when it holds) for either encoding.</summary>
    internal static (IReadOnlyList<X509Certificate2> Chain, string? Problem) Signature(RimDocument rim) =>
        rim.Format == RimFormat.Corim
            ? rim.Cose?.Check() ?? ([], "unsigned CoRIM: no COSE_Sign1 envelope (#6.18)")
            : RimSignature.Check(rim);

    private IReadOnlyList<X509Certificate2>? CheckChain(RimDocument rim, IReadOnlyList<X509Certificate2> chain, string? problem, string name, DateTimeOffset now, List<VerificationFailure> failures)
    {
        var chainOk = chains.Verify(chain, rimRoot, now, $"{name}.chain", "RIM signing certificate", failures);
        if (problem is not null)
        {
            failures.Add(new($"{name}.signature", rim.Format == RimFormat.Corim
                ? "valid COSE_Sign1 signature (ES384, x5chain)"
                : "valid XML signature (enveloped, C14N 1.1, ecdsa-sha384)", problem));
        }

        if (rim.NotBefore > now || rim.NotAfter < now)
        {
            // Worded as certificate validity is: the state, the bound crossed, then the verification time.
            var state = rim.NotAfter < now
                ? $"expired: valid until {rim.NotAfter!.Value.ToString("u", CultureInfo.InvariantCulture)}"
                : $"not yet valid: valid from {rim.NotBefore!.Value.ToString("u", CultureInfo.InvariantCulture)}";
            failures.Add(new($"{name}.validity", "the verification time inside the CoRIM's rim-validity",
                $"CoRIM {state}, now {now.ToString("u", CultureInfo.InvariantCulture)}"));
        }

        return chainOk ? chain : null;
    }
}

/// <summary>
/// Checks a supplied OCSP response for one chain certificate (nvtrust cc_admin_utils.ocsp_certificate_chain_validation):
/// revoked or unknown fails; certificateHold and "no response at hand" are findings for policy.
/// </summary>
internal sealed class OcspCheck(INvidiaCollateralSource collateral)
{
    public async Task RunAsync(X509Certificate2 cert, X509Certificate2 issuer, string name, DateTimeOffset now, List<VerificationFailure> failures, List<string> findings, CancellationToken cancellationToken)
    {
        var der = await collateral.GetOcspAsync(new NvidiaOcspRequest(cert, issuer), cancellationToken).ConfigureAwait(false);
        if (der is null)
        {
            findings.Add($"{name}.ocsp: no OCSP response at hand");
            return;
        }

        try
        {
            var result = Ocsp.OcspResponse.Check(der, cert, issuer, now);
            switch (result.Status)
            {
                case Ocsp.OcspCertStatus.Good:
                    break;
                case Ocsp.OcspCertStatus.OnHold:
                    findings.Add($"{name}.ocsp: '{NvidiaChain.Name(cert)}' is on hold (certificateHold)");
                    break;
                default:
                    failures.Add(new($"{name}.ocsp", "good", result.Status == Ocsp.OcspCertStatus.Revoked
                        ? $"revoked (reason {result.RevocationReason?.ToString() ?? "unspecified"})"
                        : "unknown to the responder"));
                    break;
            }
        }
        catch (EvidenceFormatException e)
        {
            failures.Add(new($"{name}.ocsp", "a valid OCSP response from the issuer", e.Message));
        }
    }
}
