using System.Text.Json;

namespace Veil.Guest;

/// <summary>
/// The outblob of the <c>sample</c> TSM provider: the KBS sample TEE's evidence, <c>{"svn":"1","report_data":"&lt;std
/// base64 of inblob&gt;"}</c>, as guest-components' sample attester writes it. Checked like a hardware report: it must
/// carry exactly the report data we wrote, or it is stale or raced and never leaves the guest.
/// </summary>
internal static class SampleReport
{
    public const string Provider = "sample";

    public static void CheckReportData(string source, byte[] outblob, ReadOnlySpan<byte> reportData)
    {
        byte[] actual;
        try
        {
            using var doc = JsonDocument.Parse(outblob);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("report_data", out var rd) || rd.ValueKind != JsonValueKind.String)
            {
                throw new AttesterException(source, "outblob.report_data: missing or not a string (sample evidence is {svn, report_data})");
            }

            actual = Convert.FromBase64String(rd.GetString()!);
        }
        catch (JsonException)
        {
            throw new AttesterException(source, "outblob: not JSON (sample evidence is {svn, report_data})");
        }
        catch (FormatException)
        {
            throw new AttesterException(source, "outblob.report_data: not standard base64");
        }

        if (!actual.AsSpan().SequenceEqual(reportData))
        {
            throw new AttesterException(source, "outblob.report_data: differs from the report data requested (stale or raced report)");
        }
    }
}
