using System.Security.Cryptography.X509Certificates;

namespace Veil.Attestation.Snp;

/// <summary>A report together with the certificates that travelled with it.</summary>
public sealed record SnpEvidence(SnpReport Report, IReadOnlyList<X509Certificate2> Certificates)
{
    /// <summary>
    /// Accepts the raw 1184-byte report, the same as hex text (as virtee/sev keeps its fixtures), or
    /// Trustee's SNP evidence JSON. Anything else is an <see cref="EvidenceFormatException"/>.
    /// </summary>
    public static SnpEvidence Parse(ReadOnlySpan<byte> input)
    {
        if (input.Length == SnpReport.Size)
        {
            return new SnpEvidence(SnpReport.Parse(input), []);
        }

        var trimmed = input.Trim(" \t\r\n"u8);
        if (!trimmed.IsEmpty && trimmed[0] is (byte)'{' or (byte)'[')
        {
            var (report, certs) = TrusteeSnpEvidence.Parse(trimmed);
            return new SnpEvidence(SnpReport.Parse(report), certs);
        }

        // Only text of exactly the report's size is decoded: nothing larger is ever copied.
        if (trimmed.Length == SnpReport.Size * 2 && EvidenceText.IsHex(trimmed))
        {
            return new SnpEvidence(SnpReport.Parse(EvidenceText.DecodeHex(trimmed, "report")), []);
        }

        return new SnpEvidence(SnpReport.Parse(input), []);
    }

    /// <summary>Adds certificates from an extended-report certificate table (configfs-tsm <c>auxblob</c>).</summary>
    public SnpEvidence WithCertTable(ReadOnlySpan<byte> table)
    {
        var certs = new List<X509Certificate2>(Certificates);
        foreach (var entry in SnpCertTable.Parse(table))
        {
            if (entry.Kind != "unknown")
            {
                certs.Add(Veil.Attestation.Certificates.LoadOne(entry.Data.Span, $"cert_table.{entry.Kind}"));
            }
        }

        return this with { Certificates = certs };
    }
}
