using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Veil.Attestation;
using Veil.Broker.Appraisal;
using Veil.Broker.Audit;
using Veil.Broker.Keys;
using Veil.Broker.Metrics;
using Veil.Broker.Problems;
using Veil.Broker.Rcar;
using Veil.Broker.Storage;
using Veil.Broker.Verification;
using Veil.Policy;
using Veil.Policy.Appraisal;
using Veil.Policy.Model;
using Veil.Protocol;
using Veil.Protocol.Jose;
using Veil.Protocol.Messages;

namespace Veil.Broker.Flow;

/// <summary>
/// The attest half of RCAR without HTTP: session, tee-pubkey, single-use nonce, verifier, report-data binding,
/// init-data, devices, appraisal, token, audit. It returns an <see cref="AttestOutcome"/> and leaves statuses,
/// cookies and problem bodies to the endpoint, so the order of the checks (which decides what a hostile client
/// learns and what the audit records) is tested here and cannot drift between transports.
/// </summary>
internal sealed class AttestationFlow(
    SessionStore sessions,
    EvidenceVerifiers verifiers,
    IReportDataBindingService binding,
    BrokerPolicies policies,
    DeviceEvidence devices,
    TokenService tokens,
    AuditLog audit,
    BrokerMetrics metrics)
{
    // Device evidence (certificate chains, reports) can be hundreds of KB for 8 GPUs: a token carrying it would exceed
    // HTTP header limits as a bearer token (Trustee issue #1563). Larger additional evidence goes by digest only.
    private const int MaxInlineAdditionalEvidence = 4096;

    /// <summary>Attests an already-read body (tests, and callers that have the bytes).</summary>
    public Task<AttestOutcome> AttestAsync(string? sessionId, byte[] body, CancellationToken ct) =>
        AttestAsync(sessionId, _ => Task.FromResult<byte[]?>(body), ct);

    /// <summary>
    /// The session is looked up before the body is read (<paramref name="readBody"/> returns null past the cap): a
    /// caller without a session never makes the broker buffer its body.
    /// </summary>
    public async Task<AttestOutcome> AttestAsync(string? sessionId, Func<CancellationToken, Task<byte[]?>> readBody, CancellationToken ct)
    {
        var lookup = await sessions.FindAsync(sessionId, ct).ConfigureAwait(false);
        if (lookup.Session is not { } session)
        {
            return new AttestOutcome.NoSession(lookup.Refusal!);
        }

        var body = await readBody(ct).ConfigureAwait(false);
        if (body is null)
        {
            return new AttestOutcome.TooLarge($"attestation body exceeds {Endpoints.HttpBodies.MaxBytes} bytes");
        }

        var attempt = new Attempt(session, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body)));
        KbsAttestation attestation;
        ECDiffieHellman? importedKey;
        try
        {
            attestation = KbsAttestation.Parse(body);
            var teeKey = Jwk.Parse(attestation.RuntimeData.TeePubKey, "runtime-data.tee-pubkey", checkPoint: false);
            Jwe.KeyManagementFor(teeKey);
            // The import checks that the point lies on the curve; the session keeps it for the resource's JWE.
            importedKey = teeKey.Kty == "EC" ? teeKey.CreateEcdh("runtime-data.tee-pubkey") : null;
        }
        catch (ProtocolFormatException e)
        {
            await audit.RecordAsync(AuditKind.Unauthenticated, attempt.Actor, "attest", null, attempt.EvidenceDigest, AuditLog.Denied, "malformed attestation: " + e.Message, ct).ConfigureAwait(false);
            // A key the broker will not encrypt to has its own name, so that a client knows to make another.
            var kind = e.Field.StartsWith("runtime-data.tee-pubkey", StringComparison.Ordinal) ? "InvalidTeePubKey" : "InvalidAttestation";
            return new AttestOutcome.Malformed(kind, "attestation " + e.Message);
        }

        // Not disposed here: on success the session owns the imported key (the resource's JWE uses it).
        var outcome = await VerifyAndIssueAsync(attempt, attestation, importedKey, ct).ConfigureAwait(false);
        return outcome is AttestOutcome.Refused refused ? await DenyAsync(attempt, refused, ct).ConfigureAwait(false) : outcome;
    }

    private async Task<AttestOutcome> VerifyAndIssueAsync(Attempt attempt, KbsAttestation attestation, ECDiffieHellman? importedKey, CancellationToken ct)
    {
        var session = attempt.Session;
        // The nonce is consumed before any verification work: a replay costs the broker one store round trip.
        if (await sessions.ConsumeNonceAsync(session, attestation.RuntimeData.Nonce, ct).ConfigureAwait(false) is { } nonceRefusal)
        {
            return new AttestOutcome.NonceRefused(nonceRefusal);
        }

        if (verifiers.Check(session.Tee) is { } refusal)
        {
            return new AttestOutcome.TeeRefused(refusal.Kind, refusal.Detail);
        }

        var additional = attestation.TeeEvidence.AdditionalEvidence ?? "";
        var expected = binding.ExpectedReportData(session.Tee, attestation.RuntimeData, additional);
        VerificationResult result;
        try
        {
            result = await verifiers.VerifyAsync(session.Tee, attestation.TeeEvidence.PrimaryEvidence, expected, ct).ConfigureAwait(false);
        }
        catch (EvidenceFormatException e)
        {
            return new AttestOutcome.EvidenceRejected("EvidenceInvalid", $"{session.Tee} evidence is malformed: {e.Message}");
        }

        if (!result.Verified)
        {
            return new AttestOutcome.EvidenceRejected("AttestationFailed", Explain(result));
        }

        var evidence = new EvidenceSet([new SubmoduleEvidence(SubmoduleKind.Cpu, session.Tee, result.Claims)]);
        if (attestation.InitData is { } initData)
        {
            if (initData.Format != "toml")
            {
                return new AttestOutcome.InitDataRejected("InvalidInitData", $"init-data.format: '{CallerText.Echo(initData.Format)}' is not supported (toml)");
            }

            try
            {
                evidence = InitDataBinding.Bind(evidence, Encoding.UTF8.GetBytes(initData.Body));
            }
            catch (InitDataException e)
            {
                return new AttestOutcome.InitDataRejected("InvalidInitData", e.Message);
            }

            if (evidence.Submodules[0] is { Verified: false } unbound)
            {
                return new AttestOutcome.InitDataRejected("InitDataMismatch", "init-data is not the one the TEE was launched with: " + string.Join("; ", unbound.Failures ?? []));
            }
        }

        var deviceOutcome = await devices.VerifyAsync(additional, attestation.RuntimeData, binding, ct).ConfigureAwait(false);
        if (deviceOutcome.Refusal is { } deviceRefusal)
        {
            return new AttestOutcome.DevicesRejected(deviceRefusal.Kind, deviceRefusal.Detail);
        }

        evidence = evidence with { Submodules = [.. evidence.Submodules, .. deviceOutcome.Devices.Select(d => d.Evidence)] };
        var appraisal = policies.Appraise(evidence);
        var annotations = deviceOutcome.Devices.ToDictionary(d => d.Name, d => d.Annotated, StringComparer.Ordinal);
        annotations["cpu0"] = CpuAnnotation(session.Tee, result, expected, attestation.RuntimeData, additional, evidence.InitData, attempt.EvidenceDigest);
        var token = tokens.Issue(TokenEvidence.Submodules(appraisal, annotations));
        var status = AppraisalResult.StatusName(appraisal.Status);
        metrics.Attestation(session.Tee, AttestationOutcome.Verified);
        // Audited before the session holds the token: a session never carries an attestation the audit lacks.
        await audit.RecordAsync(AuditKind.Decision, attempt.Actor, "attest", null, attempt.EvidenceDigest, AuditLog.Allowed,
            $"evidence verified; appraised with {appraisal.PolicyId}: {status}" + (appraisal.Explanations.Count == 0 ? "" : "; " + string.Join("; ", appraisal.Explanations)), ct).ConfigureAwait(false);
        if (await sessions.CompleteAttestationAsync(session, token, importedKey, ct).ConfigureAwait(false) is { } completeRefusal)
        {
            // Not a denial of the evidence (it verified and is audited as such): the session expired or went meanwhile.
            return new AttestOutcome.NoSession(completeRefusal);
        }

        return new AttestOutcome.Attested(session, token, appraisal);
    }

    /// <summary>A refusal after the body parsed is counted and audited as an unauthenticated attest denial.</summary>
    private async Task<AttestOutcome> DenyAsync(Attempt attempt, AttestOutcome.Refused refused, CancellationToken ct)
    {
        if (refused is AttestOutcome.NoSession)
        {
            return refused;
        }

        metrics.Attestation(attempt.Session.Tee, AttestationOutcome.Denied);
        await audit.RecordAsync(AuditKind.Unauthenticated, attempt.Actor, "attest", null, attempt.EvidenceDigest, AuditLog.Denied, refused.Detail, ct).ConfigureAwait(false);
        return refused;
    }

    /// <summary>cpu0's annotated evidence: the verifier's claims under the TEE's name, the binding inputs, init-data claims.</summary>
    private static JsonObject CpuAnnotation(
        string tee, VerificationResult result, ReadOnlyMemory<byte> expected, RuntimeData runtimeData, string additional, IReadOnlyDictionary<string, string>? initData, string evidenceDigest)
    {
        var annotated = new JsonObject
        {
            [tee] = ClaimsJson.From(result),
            ["report_data"] = Convert.ToHexStringLower(expected.Span),
            ["runtime_data_claims"] = new JsonObject
            {
                ["nonce"] = runtimeData.Nonce,
                ["tee-pubkey"] = ClaimsJson.Node(runtimeData.TeePubKey),
                ["additional-evidence"] = additional.Length <= MaxInlineAdditionalEvidence ? additional : null,
                ["additional-evidence-sha384"] = Convert.ToHexStringLower(SHA384.HashData(Encoding.UTF8.GetBytes(additional))),
            },
            ["veil.tee"] = tee,
            ["veil.evidence_digest"] = evidenceDigest,
        };
        if (initData is not null)
        {
            var o = new JsonObject();
            foreach (var (k, v) in initData)
            {
                o[k] = v;
            }

            annotated[TokenEvidence.InitDataClaims] = o;
        }

        return annotated;
    }

    private static string Explain(VerificationResult result)
    {
        var reportData = result.Failures.FirstOrDefault(f => f.Check.EndsWith("report_data", StringComparison.Ordinal));
        var others = result.Failures.Where(f => !ReferenceEquals(f, reportData)).Select(f => f.ToString()).ToList();
        var text = reportData is null
            ? $"{result.Tee} evidence did not verify"
            : $"report data mismatch: the evidence is not bound to this session's nonce and tee-pubkey (expected {reportData.Expected}, evidence has {reportData.Actual})";
        return others.Count == 0 ? text : text + "; also failed: " + string.Join("; ", others);
    }

    /// <summary>Who is attesting (for the audit) and the digest of exactly what they sent.</summary>
    private sealed record Attempt(RcarSession Session, string EvidenceDigest)
    {
        public string Actor => "tee:" + Session.Tee;
    }
}
