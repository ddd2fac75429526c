using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Veil.Attestation;
using Veil.Attestation.EventLog;
using Veil.Attestation.Nvidia;
using Veil.Attestation.Sample;
using Veil.Attestation.Snp;
using Veil.Attestation.Tdx;
using Veil.Policy.Appraisal;
using Veil.Policy.Model;
using Veil.Protocol;
using Veil.Protocol.AttestedTls;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;
using Veil.Abi.Tee;

namespace Veil.Connect.Verification;

/// <summary>
/// Steps 1–7 of docs/attested-tls.md "Verification" for one connection: the document must answer this nonce, bind this
/// connection's key, be fresh, and its CPU and GPU evidence must verify against the recomputed binding; then the
/// claims are appraised exactly as <c>veil appraise</c> does (failed checks become contraindicated explanations).
/// </summary>
internal sealed class GatewayEvidenceVerifier(AttestedTlsOptions options)
{
    private static readonly TimeSpan FutureSkew = TimeSpan.FromSeconds(60);

    public async Task<AttestationOutcome> VerifyAsync(string endpoint, ReadOnlyMemory<byte> body, byte[] sentNonce, byte[] connectionKey, CancellationToken ct)
    {
        var now = options.Time.GetUtcNow();
        var keyHex = Convert.ToHexStringLower(connectionKey);
        AttestationOutcome Refuse(string reason, string? tee = null) => AttestationOutcome.Refused(now, endpoint, reason, tee, keyHex);

        AttestationDocument doc;
        try
        {
            doc = AttestationDocument.Parse(body);
        }
        catch (ProtocolFormatException e)
        {
            return Refuse($"evidence document: {e.Message}");
        }

        if (!CryptographicOperations.FixedTimeEquals(doc.Nonce, sentNonce))
        {
            return Refuse("nonce: the evidence answers another nonce than the one sent on this connection (replayed or misrouted evidence)", doc.Tee);
        }

        if (!CryptographicOperations.FixedTimeEquals(doc.TlsSpkiSha256, connectionKey))
        {
            return Refuse($"tls_spki_sha256: the evidence binds TLS key {Convert.ToHexStringLower(doc.TlsSpkiSha256)}, this connection's key is {keyHex} (not the attested gateway: a man in the middle?)", doc.Tee);
        }

        var issued = DateTimeOffset.FromUnixTimeSeconds(Math.Min(doc.IssuedAt, DateTimeOffset.MaxValue.ToUnixTimeSeconds()));
        if (now - issued > options.MaxAge)
        {
            return Refuse(string.Create(CultureInfo.InvariantCulture, $"issued_at: the evidence is {(long)(now - issued).TotalSeconds} s old, more than the {(long)options.MaxAge.TotalSeconds} s accepted (stale)"), doc.Tee);
        }

        if (issued - now > FutureSkew)
        {
            return Refuse(string.Create(CultureInfo.InvariantCulture, $"issued_at: {(long)(issued - now).TotalSeconds} s in the future (the gateway's clock is wrong)"), doc.Tee);
        }

        if (doc.Tee == SampleVerifier.Tee && !options.AllowSample)
        {
            return Refuse("tee: the sample TEE proves nothing about hardware; refused unless allowed explicitly (--allow-sample, tests only)", doc.Tee);
        }

        var reportData = doc.ReportData();
        var submodules = new List<SubmoduleEvidence>();
        try
        {
            var cpu = await VerifyCpuAsync(doc, reportData, ct).ConfigureAwait(false);
            submodules.Add(new SubmoduleEvidence(SubmoduleKind.Cpu, doc.Tee, cpu.Claims, cpu.Verified, cpu.Failures.Select(f => f.ToString()).ToList()));
        }
        catch (EvidenceFormatException e)
        {
            return Refuse($"cpu_evidence: {e.Message}", doc.Tee);
        }

        if (doc.GpuEvidence.Length > 0)
        {
            try
            {
                submodules.AddRange(await VerifyGpusAsync(doc, ct).ConfigureAwait(false));
            }
            catch (EvidenceFormatException e)
            {
                return Refuse($"gpu_evidence: {e.Message}", doc.Tee);
            }
        }

        var appraisal = Appraiser.Appraise(options.Policy, new EvidenceSet(submodules), options.Time);
        var reasons = appraisal.IsAffirming
            ? []
            : appraisal.Submodules.SelectMany(s => s.Explanations.Select(x => $"{s.Name}: {x.Rule}: {x}")).DefaultIfEmpty($"policy {appraisal.PolicyId}: {AppraisalResult.StatusName(appraisal.Status)}").ToList();
        return new AttestationOutcome(appraisal.IsAffirming, now, endpoint, doc.Tee, keyHex, reasons, appraisal, Facts(doc, submodules, appraisal, issued));
    }

    private Task<VerificationResult> VerifyCpuAsync(AttestationDocument doc, byte[] reportData, CancellationToken ct)
    {
        switch (doc.Tee)
        {
            case SampleVerifier.Tee:
                return Task.FromResult(SampleVerifier.Verify(doc.CpuEvidence, reportData));
            case TeeNames.Snp:
                return new SnpVerifier(options.SnpCollateral, options.Time)
                    .VerifyAsync(Encoding.UTF8.GetBytes(doc.CpuEvidence.GetRawText()), reportData, ct);
            default:
                var quote = Base64Field(doc.CpuEvidence, "quote") ?? throw new EvidenceFormatException("tdx evidence.quote", "missing");
                var log = Base64Field(doc.CpuEvidence, "cc_eventlog");
                var verifier = new TdxVerifier(TdxCollateralSources.Fixed(options.TdxCollateral), options.Time,
                    new TdxVerifierOptions { RequireCollateral = options.TdxCollateral is not null });
                return verifier.VerifyAsync(quote, reportData, log is null ? null : RtmrReplay.Parse(log), ct);
        }
    }

    private async Task<List<SubmoduleEvidence>> VerifyGpusAsync(AttestationDocument doc, CancellationToken ct)
    {
        var evidence = NvidiaEvidence.Parse(Encoding.UTF8.GetBytes(doc.GpuEvidence));
        var gpuNonce = AttestedTlsBinding.GpuNonce(doc.Nonce, doc.TlsSpkiSha256);
        var set = await new NvidiaVerifier(options.NvidiaCollateral, options.Time).VerifyAsync(evidence, gpuNonce, ct).ConfigureAwait(false);
        if (set.Devices.Count == 0)
        {
            throw new EvidenceFormatException("gpu_evidence", "lists no device");
        }

        // As 'veil appraise --gpu': a set-level failure (one device listed twice) taints every device.
        var setFailures = set.Combined.Failures.Where(f => f.Check.Contains(".set.", StringComparison.Ordinal)).Select(f => f.ToString()).ToList();
        return set.Devices.Select(d => new SubmoduleEvidence(
            d.Claims.TryGetValue("nvidia.device_kind", out var k) && k is "switch" ? SubmoduleKind.Switch : SubmoduleKind.Gpu,
            TeeNames.Nvidia, d.Claims, d.Verified && setFailures.Count == 0, [.. d.Failures.Select(f => f.ToString()), .. setFailures])).ToList();
    }

    private static Dictionary<string, string> Facts(AttestationDocument doc, List<SubmoduleEvidence> submodules, AppraisalResult appraisal, DateTimeOffset issued)
    {
        var cpu = submodules[0].Claims;
        string? Claim(string name) => cpu.TryGetValue(name, out var v) ? Convert.ToString(v, CultureInfo.InvariantCulture) : null;
        var facts = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["platform"] = doc.Tee,
            ["measurement"] = Claim("snp.measurement") ?? Claim("tdx.mr_td") ?? (Claim("sample.svn") is { } svn ? "sample svn " + svn : "(none)"),
            ["gpus"] = submodules.Count(s => s.Kind == SubmoduleKind.Gpu).ToString(CultureInfo.InvariantCulture),
            ["policy"] = appraisal.PolicyId,
            ["result"] = AppraisalResult.StatusName(appraisal.Status),
            ["issued_at"] = issued.ToString("O", CultureInfo.InvariantCulture),
        };
        return facts;
    }

    private static byte[]? Base64Field(JsonElement evidence, string name)
    {
        if (!evidence.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw new EvidenceFormatException($"tdx evidence.{name}", "not a string");
        }

        try
        {
            return Convert.FromBase64String(value.GetString()!);
        }
        catch (FormatException)
        {
            throw new EvidenceFormatException($"tdx evidence.{name}", "not standard base64");
        }
    }
}
