using System.Text.Json;
using Veil.Tests.Shared;

namespace Veil.Broker.Tests.Support;

/// <summary>Fields of Trustee's e2e SNP evidence (Genoa, VCEK in the evidence) that tests need to expect.</summary>
internal static class SnpVector
{
    public static byte[] ReportData() => Bytes("report_data");

    public static string Measurement() => Convert.ToHexStringLower(Bytes("measurement"));

    private static byte[] Bytes(string field)
    {
        using var doc = JsonDocument.Parse(Vectors.Text("trustee", "attestation-service", "tests", "e2e", "evidence.json"));
        return doc.RootElement.GetProperty("attestation_report").GetProperty(field).EnumerateArray().Select(b => b.GetByte()).ToArray();
    }
}
