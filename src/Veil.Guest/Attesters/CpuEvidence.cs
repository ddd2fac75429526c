namespace Veil.Guest;

/// <summary>Evidence from the confidential VM's CPU TEE, as the kernel returned it.</summary>
/// <param name="Tee">KBS tee name: <c>snp</c> or <c>tdx</c>.</param>
/// <param name="Provider">The kernel provider that produced it (e.g. <c>sev_guest</c>, <c>tdx_guest</c>).</param>
/// <param name="Report">The signed report or quote (SNP ATTESTATION_REPORT, TDX quote).</param>
/// <param name="AuxBlob">Supplemental data, for SNP the certificate table (GUID table + VCEK/ASK/ARK); empty when none.</param>
public sealed record CpuEvidence(string Tee, string Provider, byte[] Report, byte[] AuxBlob);

/// <summary>A CPU attester: binds up to 64 bytes of report data into a signed report.</summary>
public interface ICpuAttester
{
    /// <summary>Short name for logs and <c>--tee</c> (configfs-tsm, sev-guest).</summary>
    string Name { get; }

    CpuEvidence Collect(ReadOnlySpan<byte> reportData);
}

/// <summary>What the attesters check in an SNP report before evidence leaves the guest (layout: Veil.Abi).</summary>
internal static class SnpReportCheck
{
    public const int ReportLength = Veil.Abi.Snp.SnpReportLayout.Length;

    /// <summary>Fails closed unless the report carries exactly the report data we asked for (zero-padded to 64 bytes).</summary>
    public static void CheckReportData(string source, ReadOnlySpan<byte> report, ReadOnlySpan<byte> reportData)
    {
        if (report.Length < ReportLength)
        {
            throw new AttesterException(source, $"report: {report.Length} bytes, an SNP report has {ReportLength}");
        }

        var field = Veil.Abi.Snp.SnpReportLayout.ReportData;
        Span<byte> expected = stackalloc byte[field.Length];
        reportData.CopyTo(expected);
        if (!field.Of(report).SequenceEqual(expected))
        {
            throw new AttesterException(source, "report.report_data: differs from the report data requested (stale or raced report)");
        }
    }
}
