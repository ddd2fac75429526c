using System.Buffers.Binary;
using System.Text.Json;
using Veil.Protocol.Messages;
using Veil.Abi.Tdx;
using Veil.Abi.Tee;

namespace Veil.Guest;

/// <summary>
/// tee "tdx": a TD quote from configfs-tsm (provider <c>tdx_guest</c>) over the KBS 0.4.0 report data, sent as
/// Trustee's TDX evidence JSON <c>{"quote": base64, "cc_eventlog": base64}</c>. The event log is the ACPI CCEL
/// table's data area, which the broker replays against RTMR0–3; it is left out when the firmware publishes none.
/// </summary>
public sealed class TdxEvidenceProvider : IEvidenceProvider
{
    public const string DefaultCcelPath = "/sys/firmware/acpi/tables/data/CCEL";
    private const string Source = "tdx evidence";

    // A CCEL is a few hundred KiB in practice (Trustee's samples: 64 KiB … 1 MiB); the cap only bounds memory.
    private const int MaxEventLog = 64 * 1024 * 1024;

    private readonly ICpuAttester attester;
    private readonly string ccelPath;
    private readonly IEvidenceBinding binding;

    /// <param name="attester">configfs-tsm in a TD (tests: one over a folder laid out like it).</param>
    /// <param name="ccelPath">The CCEL data file (tests: a temporary file, or a path that does not exist).</param>
    public TdxEvidenceProvider(ICpuAttester attester, string ccelPath = DefaultCcelPath)
        : this(attester, ccelPath, KbsEvidenceBinding.Instance)
    {
    }

    internal TdxEvidenceProvider(ICpuAttester attester, string ccelPath, IEvidenceBinding binding)
    {
        this.attester = attester;
        this.ccelPath = ccelPath;
        this.binding = binding;
    }

    public string Tee => TeeNames.Tdx;

    public JsonElement PrimaryEvidence(string nonce, JsonElement teePubKey) => PrimaryEvidence(nonce, teePubKey, "");

    public JsonElement PrimaryEvidence(string nonce, JsonElement teePubKey, string additionalEvidence)
    {
        var reportData = binding.CpuReportData(nonce, teePubKey, additionalEvidence);
        var evidence = attester.Collect(reportData);
        if (evidence.Tee != TeeNames.Tdx)
        {
            throw new AttesterException(attester.Name, $"provider '{evidence.Provider}' gives {evidence.Tee} evidence, not tdx");
        }

        TdxQuoteCheck.CheckReportData(attester.Name, evidence.Report, reportData);
        var log = ReadEventLog(ccelPath);
        var json = KbsJson.Serialize(w =>
        {
            w.WriteStartObject();
            w.WriteString("quote", Convert.ToBase64String(evidence.Report));
            if (log is not null)
            {
                w.WriteString("cc_eventlog", Convert.ToBase64String(log));
            }

            w.WriteEndObject();
        });
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    /// <summary>The CCEL data area, or null when the firmware publishes none (also read by the attested-TLS gateway).</summary>
    internal static byte[]? ReadEventLog(string ccelPath)
    {
        if (!File.Exists(ccelPath))
        {
            return null;
        }

        try
        {
            // sysfs may report a size other than the data's, so read to the end.
            using var f = new FileStream(ccelPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
            using var buffer = new MemoryStream();
            var chunk = new byte[64 * 1024];
            int n;
            while ((n = f.Read(chunk, 0, chunk.Length)) > 0)
            {
                if (buffer.Length + n > MaxEventLog)
                {
                    throw new AttesterException(Source, $"cc_eventlog: {ccelPath} is larger than {MaxEventLog} bytes");
                }

                buffer.Write(chunk, 0, n);
            }

            return buffer.Length == 0 ? null : buffer.ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AttesterException(Source, $"cc_eventlog: {ccelPath} cannot be read ({e.GetType().Name})", e);
        }
    }
}

/// <summary>What the agent checks in a TDX quote before it leaves the guest (layout: Veil.Abi's TdxQuoteLayout, v4 and v5).</summary>
internal static class TdxQuoteCheck
{
    private const int HeaderLength = TdxQuoteLayout.HeaderLength;
    private const uint TeeTypeTdx = TdxQuoteLayout.TeeTypeTdx;
    private static readonly int ReportDataInBody = TdxQuoteLayout.ReportDataInBody.Offset;
    private static readonly int ReportDataLength = TdxQuoteLayout.ReportDataInBody.Length;

    /// <summary>Fails closed unless the quote's TD report carries exactly the report data we asked for (zero-padded to 64).</summary>
    public static void CheckReportData(string source, ReadOnlySpan<byte> quote, ReadOnlySpan<byte> reportData)
    {
        if (quote.Length < HeaderLength + 6)
        {
            throw new AttesterException(source, $"quote: {quote.Length} bytes, shorter than a TDX quote header");
        }

        var version = BinaryPrimitives.ReadUInt16LittleEndian(quote);
        var teeType = BinaryPrimitives.ReadUInt32LittleEndian(quote[4..]);
        if (teeType != TeeTypeTdx)
        {
            throw new AttesterException(source, $"quote.tee_type: 0x{teeType:x8} is not TDX (0x00000081)");
        }

        // v5 puts a 6-byte body descriptor (type, size) before the TD report; REPORT_DATA sits at the same offset in both body types.
        var body = version is 4 or 5
            ? TdxQuoteLayout.BodyOffset(version)
            : throw new AttesterException(source, $"quote.version: {version} is not a TDX quote version (4, 5)");
        if (quote.Length < body + ReportDataInBody + ReportDataLength)
        {
            throw new AttesterException(source, $"quote: {quote.Length} bytes, too short for the TD report body");
        }

        Span<byte> expected = stackalloc byte[ReportDataLength];
        reportData.CopyTo(expected);
        if (!quote.Slice(body + ReportDataInBody, ReportDataLength).SequenceEqual(expected))
        {
            throw new AttesterException(source, "quote.report_data: differs from the report data requested (stale or raced quote)");
        }
    }
}
