using System.Security.Cryptography.X509Certificates;

namespace Veil.Attestation.Snp;

/// <summary>A report together with the certificates that travelled with it.</summary>
public sealed record SnpEvidence(SnpReport Report, IReadOnlyList<X509Certificate2> Certificates)
{
    /// <summary>
    /// Accepts the raw 1184-byte report, the same as hex text (as virtee/sev keeps its fixtures; <c>0x</c> and line
    /// breaks allowed) or base64 text, or Trustee's SNP evidence JSON. Anything else is an
    /// <see cref="EvidenceFormatException"/>: binary of the wrong size is truncated or oversized, text that is none
    /// of these is "not a report".
    /// </summary>
    public static SnpEvidence Parse(ReadOnlySpan<byte> input)
    {
        if (!EvidenceText.IsText(input) || input.IsEmpty)
        {
            return new SnpEvidence(SnpReport.Parse(input), []);
        }

        var trimmed = input.Trim(" \t\r\n"u8);
        if (!trimmed.IsEmpty && trimmed[0] is (byte)'{' or (byte)'[')
        {
            var (report, certs) = TrusteeSnpEvidence.Parse(trimmed);
            return new SnpEvidence(SnpReport.Parse(report), certs);
        }

        // One decode into one buffer; only a report-sized result is parsed (large text costs its decoded size once).
        if (!EvidenceText.TryDecode(trimmed, "report", out var buffer, out var length, out var encoding))
        {
            throw new EvidenceFormatException("report",
                $"not a report: {input.Length} bytes of text, neither hex nor base64 nor Trustee's SNP evidence JSON, and a raw report is {SnpReport.Size} binary bytes");
        }

        return length == SnpReport.Size
            ? new SnpEvidence(SnpReport.Parse(buffer.AsSpan(0, length)), [])
            : throw new EvidenceFormatException("report",
                $"not a report: {input.Length} bytes of text whose {encoding} decodes to {length} bytes; an SEV-SNP report is {SnpReport.Size} bytes ({SnpReport.Size * 2} hex digits)");
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
