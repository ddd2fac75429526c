using System.Text.Json;
using Veil.Abi.Tee;

namespace Veil.Guest;

/// <summary>
/// tee "snp": asks the CPU attester (configfs-tsm or /dev/sev-guest) for a report whose REPORT_DATA is the KBS 0.4.0
/// binding of the challenge nonce, our ephemeral key and any device evidence, and sends it as Trustee's SNP evidence JSON.
/// </summary>
public sealed class SnpEvidenceProvider : IEvidenceProvider
{
    private readonly ICpuAttester attester;
    private readonly IEvidenceBinding binding;

    public SnpEvidenceProvider(ICpuAttester attester)
        : this(attester, KbsEvidenceBinding.Instance)
    {
    }

    internal SnpEvidenceProvider(ICpuAttester attester, IEvidenceBinding binding)
    {
        this.attester = attester;
        this.binding = binding;
    }

    public string Tee => TeeNames.Snp;

    public JsonElement PrimaryEvidence(string nonce, JsonElement teePubKey) => PrimaryEvidence(nonce, teePubKey, "");

    public JsonElement PrimaryEvidence(string nonce, JsonElement teePubKey, string additionalEvidence)
    {
        // Both attesters check that the report carries exactly this report data before returning it.
        var evidence = attester.Collect(binding.CpuReportData(nonce, teePubKey, additionalEvidence));
        if (evidence.Tee != TeeNames.Snp)
        {
            throw new AttesterException(attester.Name, $"provider '{evidence.Provider}' gives {evidence.Tee} evidence, not snp");
        }

        return TrusteeSnpEvidenceWriter.Write(evidence.Report, evidence.AuxBlob);
    }
}
