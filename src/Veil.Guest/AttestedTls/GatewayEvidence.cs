using System.Text;
using System.Text.Json;
using Veil.Protocol.AttestedTls;
using Veil.Protocol.Messages;
using Veil.Abi.Tee;

namespace Veil.Guest;

/// <summary>
/// Evidence for <c>veil gateway</c> (docs/attested-tls.md): GPU reports over the attested-TLS GPU nonce first, then
/// the CPU report whose report data binds the client's nonce, the gateway's TLS key hash, the exact GPU evidence
/// string and the issue time. The attesters are the agent's own (configfs-tsm, /dev/sev-guest, NVML).
/// </summary>
public sealed class GatewayEvidence
{
    private readonly ICpuAttester? cpu;
    private readonly NvidiaGpuAttester? gpus;
    private readonly string ccelPath;
    private readonly TimeProvider time;

    /// <param name="cpu">The CPU attester; null makes in-process sample evidence (tests and demos; clients refuse it unless allowed).</param>
    /// <param name="gpus">NVIDIA GPUs in CC mode, or null when the VM has none.</param>
    public GatewayEvidence(ICpuAttester? cpu, NvidiaGpuAttester? gpus, string ccelPath = TdxEvidenceProvider.DefaultCcelPath, TimeProvider? time = null)
    {
        this.cpu = cpu;
        this.gpus = gpus;
        this.ccelPath = ccelPath;
        this.time = time ?? TimeProvider.System;
    }

    /// <summary>Where CPU evidence comes from, for the start-up line.</summary>
    public string Source => cpu?.Name ?? "in-process sample";

    public AttestationDocument Collect(byte[] nonce, byte[] spkiSha256)
    {
        var gpuEvidence = "";
        if (gpus is not null)
        {
            var gpuNonce = AttestedTlsBinding.GpuNonce(nonce, spkiSha256);
            gpuEvidence = Encoding.UTF8.GetString(NvidiaEvidenceProvider.Write(gpus.Collect(gpuNonce), gpuNonce));
        }

        var issuedAt = time.GetUtcNow().ToUnixTimeSeconds();
        var reportData = AttestedTlsBinding.CpuReportData(nonce, spkiSha256, AttestedTlsBinding.GpuEvidenceDigest(gpuEvidence), issuedAt);
        var (tee, evidence) = CpuEvidenceJson(reportData);
        return new AttestationDocument(tee, nonce, issuedAt, spkiSha256, evidence, gpuEvidence);
    }

    private (string Tee, JsonElement Evidence) CpuEvidenceJson(byte[] reportData)
    {
        if (cpu is null)
        {
            return (TeeNames.Sample, Parse(KbsJson.Serialize(w =>
            {
                w.WriteStartObject();
                w.WriteString("svn", "1");
                w.WriteString("report_data", Convert.ToBase64String(reportData));
                w.WriteEndObject();
            })));
        }

        // Every attester checks that what it returns carries exactly this report data (else it throws).
        var e = cpu.Collect(reportData);
        switch (e.Tee)
        {
            case TeeNames.Sample:
                return (TeeNames.Sample, Parse(e.Report));
            case TeeNames.Snp:
                return (TeeNames.Snp, TrusteeSnpEvidenceWriter.Write(e.Report, e.AuxBlob));
            case TeeNames.Tdx:
                TdxQuoteCheck.CheckReportData(cpu.Name, e.Report, reportData);
                var log = TdxEvidenceProvider.ReadEventLog(ccelPath);
                return (TeeNames.Tdx, Parse(KbsJson.Serialize(w =>
                {
                    w.WriteStartObject();
                    w.WriteString("quote", Convert.ToBase64String(e.Report));
                    if (log is not null)
                    {
                        w.WriteString("cc_eventlog", Convert.ToBase64String(log));
                    }

                    w.WriteEndObject();
                })));
            default:
                throw new AttesterException(cpu.Name, $"provider '{e.Provider}' gives {e.Tee} evidence, which attested TLS does not carry");
        }
    }

    private static JsonElement Parse(byte[] json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            throw new AttesterException("evidence", "the attester's output is not JSON");
        }
    }
}
