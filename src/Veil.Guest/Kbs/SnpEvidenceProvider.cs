using System.Text.Json;
using Veil.Protocol.Binding;

namespace Veil.Guest;

/// <summary>
/// tee "snp": asks the CPU attester (configfs-tsm or /dev/sev-guest) for a report whose REPORT_DATA is the KBS 0.4.0
/// binding of the challenge nonce and our ephemeral key, and sends it as Trustee's SNP evidence JSON.
/// </summary>
public sealed class SnpEvidenceProvider(ICpuAttester attester) : IEvidenceProvider
{
    public string Tee => "snp";

    public JsonElement PrimaryEvidence(string nonce, JsonElement teePubKey)
    {
        var evidence = attester.Collect(ReportDataBinding.CpuReportData(nonce, teePubKey, ""));
        if (evidence.Tee != "snp")
        {
            throw new AttesterException(attester.Name, $"provider '{evidence.Provider}' gives {evidence.Tee} evidence, not snp");
        }

        return TrusteeSnpEvidenceWriter.Write(evidence.Report, evidence.AuxBlob);
    }
}
