using System.Text.Json;
using Veil.Protocol.Binding;
using Veil.Protocol.Client;
using Veil.Abi.Tee;

namespace Veil.Guest;

/// <summary>Produces a TEE's <c>primary_evidence</c> for a challenge; the KBS client drives the handshake around it.</summary>
public interface IEvidenceProvider
{
    /// <summary>The KBS tee name sent in <c>/auth</c> (sample, snp, tdx).</summary>
    string Tee { get; }

    /// <summary>Evidence bound to the challenge nonce and our ephemeral public key (KBS 0.4.0 report-data binding).</summary>
    JsonElement PrimaryEvidence(string nonce, JsonElement teePubKey);

    /// <summary>
    /// Evidence whose report data also binds <paramref name="additionalEvidence"/>, the exact string sent as
    /// <c>additional_evidence</c> (device evidence chained into the CPU report). A provider that cannot bind it
    /// refuses rather than send a report the broker would reject.
    /// </summary>
    JsonElement PrimaryEvidence(string nonce, JsonElement teePubKey, string additionalEvidence) =>
        additionalEvidence.Length == 0
            ? PrimaryEvidence(nonce, teePubKey)
            : throw new AttesterException(Tee, "this evidence provider cannot bind device evidence into its report data");

    /// <summary>Called once the broker released the key.</summary>
    void OnKeyReleased()
    {
    }
}

/// <summary>
/// The KBS <c>sample</c> TEE (no hardware; brokers refuse it unless explicitly allowed): demos and CI. Made in process,
/// or, given a CPU attester serving the <c>sample</c> provider (a configfs-tsm fake), collected through it like hardware
/// evidence: the 48-byte binding goes in as inblob and the outblob, checked to carry it, is sent as is.
/// </summary>
public sealed class SampleEvidenceProvider(ICpuAttester? attester = null) : IEvidenceProvider
{
    public string Tee => TeeNames.Sample;

    public JsonElement PrimaryEvidence(string nonce, JsonElement teePubKey) => PrimaryEvidence(nonce, teePubKey, "");

    public JsonElement PrimaryEvidence(string nonce, JsonElement teePubKey, string additionalEvidence)
    {
        if (attester is null)
        {
            return SampleAttester.Evidence(nonce, teePubKey, additionalEvidence);
        }

        var evidence = attester.Collect(ReportDataBinding.PrimaryDigest(nonce, teePubKey, additionalEvidence));
        if (evidence.Tee != TeeNames.Sample)
        {
            throw new AttesterException(attester.Name, $"provider '{evidence.Provider}' gives {evidence.Tee} evidence, not sample");
        }

        using var doc = JsonDocument.Parse(evidence.Report);
        return doc.RootElement.Clone();
    }
}
