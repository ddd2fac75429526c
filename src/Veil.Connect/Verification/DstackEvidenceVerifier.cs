using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Veil.Attestation;
using Veil.Attestation.Dstack;
using Veil.Attestation.EventLog;
using Veil.Attestation.Nvidia;
using Veil.Attestation.Tdx;
using Veil.Policy.Appraisal;
using Veil.Policy.Model;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;
using Veil.Abi.Tee;

namespace Veil.Connect.Verification;

/// <summary>
/// The dstack form (docs/attested-tls.md, "dstack endpoints"): a <see cref="DstackReport"/> answering this nonce, whose
/// TDX quote verifies with the same verifier and collateral as Veil's own gateways, whose report data is the signing
/// address padded to 32 bytes ‖ the nonce, whose JSON event log replays to the quote's RTMR0–3, and whose NVIDIA
/// evidence (when carried) verifies against the same nonce. The claims are appraised by the policy as usual.
/// What this form cannot give: the TLS key is not in the report data, so the connection is not pinned to the TD;
/// the outcome says so in its facts.
/// </summary>
internal sealed class DstackEvidenceVerifier(AttestedTlsOptions options)
{
    public const string Tee = TeeNames.Tdx;

    public async Task<AttestationOutcome> VerifyAsync(string endpoint, ReadOnlyMemory<byte> body, byte[] sentNonce, byte[] connectionKey, CancellationToken ct)
    {
        var now = options.Time.GetUtcNow();
        var keyHex = Convert.ToHexStringLower(connectionKey);
        AttestationOutcome Refuse(string reason) => AttestationOutcome.Refused(now, endpoint, reason, Tee, keyHex);

        DstackReport report;
        try
        {
            report = DstackReport.Parse(body.Span);
        }
        catch (EvidenceFormatException e)
        {
            return Refuse($"dstack report: {e.Message}");
        }

        if (!CryptographicOperations.FixedTimeEquals(report.RequestNonce, sentNonce))
        {
            return Refuse($"request_nonce: the report answers {Convert.ToHexStringLower(report.RequestNonce)}, not the nonce sent ({Convert.ToHexStringLower(sentNonce)}): replayed or misrouted");
        }

        var submodules = new List<SubmoduleEvidence>();
        try
        {
            var replay = RtmrReplay.Replay(DstackEventLog.ToTcg(report.Events));
            var verifier = new TdxVerifier(TdxCollateralSources.Fixed(options.TdxCollateral), options.Time,
                new TdxVerifierOptions { RequireCollateral = options.TdxCollateral is not null });
            var cpu = await verifier.VerifyAsync(report.Quote, report.ExpectedReportData(), replay, ct).ConfigureAwait(false);
            submodules.Add(new SubmoduleEvidence(SubmoduleKind.Cpu, Tee, cpu.Claims, cpu.Verified, cpu.Failures.Select(f => f.ToString()).ToList()));
        }
        catch (EvidenceFormatException e)
        {
            return Refuse($"intel_quote: {e.Message}");
        }

        if (report.NvidiaPayload is { } payload)
        {
            try
            {
                submodules.AddRange(await VerifyGpusAsync(payload, sentNonce, ct).ConfigureAwait(false));
            }
            catch (EvidenceFormatException e)
            {
                return Refuse(e.Message);
            }
        }

        var appraisal = Appraiser.Appraise(options.Policy, new EvidenceSet(submodules), options.Time);
        var reasons = appraisal.IsAffirming
            ? []
            : appraisal.Submodules.SelectMany(s => s.Explanations.Select(x => $"{s.Name}: {x.Rule}: {x}")).DefaultIfEmpty($"policy {appraisal.PolicyId}: {AppraisalResult.StatusName(appraisal.Status)}").ToList();
        return new AttestationOutcome(appraisal.IsAffirming, now, endpoint, Tee, keyHex, reasons, appraisal, Facts(report, submodules, appraisal));
    }

    /// <summary>The payload's own nonce must be ours (hex), and every device's SPDM report must answer it.</summary>
    private async Task<List<SubmoduleEvidence>> VerifyGpusAsync(byte[] payload, byte[] nonce, CancellationToken ct)
    {
        string? claimed;
        try
        {
            using var doc = JsonDocument.Parse(payload);
            claimed = doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("nonce", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
        }
        catch (JsonException)
        {
            throw new EvidenceFormatException("nvidia_payload", "not valid JSON");
        }

        if (claimed is not null && !string.Equals(claimed, Convert.ToHexStringLower(nonce), StringComparison.OrdinalIgnoreCase))
        {
            throw new EvidenceFormatException("nvidia_payload.nonce", $"{claimed} is not the nonce sent");
        }

        var set = await new NvidiaVerifier(options.NvidiaCollateral, options.Time).VerifyAsync(NvidiaEvidence.Parse(payload), nonce, ct).ConfigureAwait(false);
        if (set.Devices.Count == 0)
        {
            throw new EvidenceFormatException("nvidia_payload.evidence_list", "lists no device");
        }

        var setFailures = set.Combined.Failures.Where(f => f.Check.Contains(".set.", StringComparison.Ordinal)).Select(f => f.ToString()).ToList();
        return set.Devices.Select(d => new SubmoduleEvidence(
            d.Claims.TryGetValue("nvidia.device_kind", out var k) && k is "switch" ? SubmoduleKind.Switch : SubmoduleKind.Gpu,
            TeeNames.Nvidia, d.Claims, d.Verified && setFailures.Count == 0, [.. d.Failures.Select(f => f.ToString()), .. setFailures])).ToList();
    }

    private static Dictionary<string, string> Facts(DstackReport report, List<SubmoduleEvidence> submodules, AppraisalResult appraisal)
    {
        var cpu = submodules[0].Claims;
        string Runtime(string name) => report.Events.LastOrDefault(e => e.EventType == DstackEventLog.RuntimeEventType && e.Name == name) is { } e ? Convert.ToHexStringLower(e.Payload.Span) : "-";
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["platform"] = "tdx (dstack)",
            ["measurement"] = cpu.TryGetValue("tdx.mr_td", out var mr) ? Convert.ToString(mr, CultureInfo.InvariantCulture) ?? "-" : "-",
            ["app_id"] = Runtime("app-id"),
            ["compose_hash"] = Runtime("compose-hash"),
            ["gpus"] = submodules.Count(s => s.Kind == SubmoduleKind.Gpu).ToString(CultureInfo.InvariantCulture),
            ["policy"] = appraisal.PolicyId,
            ["result"] = AppraisalResult.StatusName(appraisal.Status),
            ["binding"] = $"signing key 0x{Convert.ToHexStringLower(report.SigningAddress)} ({report.SigningAlgo ?? "?"}); the TLS key is not attested in the dstack form",
        };
    }
}
