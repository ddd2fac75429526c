using Veil.Attestation.Snp;
using static Veil.Attestation.Tests.Snp.SnpVectorCases;

namespace Veil.Attestation.Tests.Snp;

/// <summary>Seeds and target of the SNP parser fuzzer (the test runs it for seconds, bench/ for 10⁶ inputs).</summary>
internal static class SnpFuzzSeeds
{
    public static IReadOnlyList<byte[]> All()
    {
        var ms = Ms("turin");
        return
        [
            .. SnpVectorCases.All().Select(c => c.Evidence),
            SnpCertTable.Build([new SnpCertTableEntry(SnpCertTableEntry.VcekGuid, ms.Leaf!.RawData)]),
        ];
    }

    /// <summary>Everything that reads untrusted SNP bytes: evidence, cert tables, certificate extensions, claims.</summary>
    public static void Target(byte[] input)
    {
        try
        {
            var evidence = SnpEvidence.Parse(input);
            SnpReportChecks.Check(evidence.Report, []);
            _ = SnpClaims.From(evidence.Report, SnpProducts.FromCpuId(evidence.Report.CpuId ?? default), evidence.Report.SignerInfo.SigningKey);
            foreach (var cert in evidence.Certificates)
            {
                _ = SnpSigningCertificate.From(cert, "vcek");
            }
        }
        finally
        {
            foreach (var entry in TryTable(input))
            {
                _ = entry.Kind;
            }
        }
    }

    private static IReadOnlyList<SnpCertTableEntry> TryTable(byte[] input)
    {
        try
        {
            return SnpCertTable.Parse(input);
        }
        catch (EvidenceFormatException)
        {
            return [];
        }
    }
}
