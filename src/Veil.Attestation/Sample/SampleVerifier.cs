using System.Security.Cryptography;
using System.Text.Json;
using Veil.Abi.Tee;

namespace Veil.Attestation.Sample;

/// <summary>
/// The KBS <c>sample</c> TEE (no hardware, no signature): evidence <c>{"svn":"1","report_data":"&lt;std base64&gt;"}</c>
/// whose report data must equal the expected binding. It proves nothing; callers refuse it unless explicitly allowed.
/// </summary>
public static class SampleVerifier
{
    public const string Tee = TeeNames.Sample;

    public static VerificationResult Verify(JsonElement evidence, ReadOnlySpan<byte> expectedReportData)
    {
        if (evidence.ValueKind != JsonValueKind.Object)
        {
            throw new EvidenceFormatException("sample evidence: expected a JSON object {svn, report_data}");
        }

        if (!evidence.TryGetProperty("svn", out var svn) || svn.ValueKind != JsonValueKind.String)
        {
            throw new EvidenceFormatException("sample evidence.svn: missing or not a string");
        }

        if (!evidence.TryGetProperty("report_data", out var rd) || rd.ValueKind != JsonValueKind.String)
        {
            throw new EvidenceFormatException("sample evidence.report_data: missing or not a string");
        }

        byte[] reportData;
        try
        {
            reportData = Convert.FromBase64String(rd.GetString()!);
        }
        catch (FormatException)
        {
            throw new EvidenceFormatException("sample evidence.report_data: not standard base64");
        }

        var failures = new List<VerificationFailure>();
        if (!CryptographicOperations.FixedTimeEquals(reportData, expectedReportData))
        {
            failures.Add(new("report_data", Convert.ToHexStringLower(expectedReportData), Convert.ToHexStringLower(reportData)));
        }

        var claims = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["sample.svn"] = svn.GetString()!,
            ["sample.report_data"] = Convert.ToHexStringLower(reportData),
        };
        return new VerificationResult(Tee, claims, failures);
    }
}
