using System.Buffers.Binary;
using System.Text.Json;
using Veil.Attestation.Snp;
using Veil.Tests.Shared;

namespace Veil.Guest.Tests;

/// <summary>The agent's SNP evidence JSON against Veil.Attestation's reader (what the broker runs), on real reports.</summary>
public class TrusteeSnpEvidenceTests
{
    [Theory]
    [InlineData("go-sev-guest", "verify-testdata", "attestation.bin")]
    [InlineData("TEE-Attestation-Verification", "tests-test_data", "milan_attestation_report.bin")]
    [InlineData("TEE-Attestation-Verification", "tests-test_data", "genoa_attestation_report.bin")]
    [InlineData("TEE-Attestation-Verification", "tests-test_data", "turin_attestation_report.bin")]
    public void Broker_side_reader_recovers_the_exact_report_bytes(string folder, string sub, string file)
    {
        var raw = Vectors.Bytes(folder, sub, file);
        var json = TrusteeSnpEvidenceWriter.Write(raw, []);
        var (report, certs) = TrusteeSnpEvidence.Parse(JsonSerializer.SerializeToUtf8Bytes(json));
        Assert.Equal(raw, report);
        Assert.Empty(certs);
    }

    [Fact]
    public void Matches_trustees_own_evidence_json_field_for_field()
    {
        var text = Vectors.Text("trustee", "attestation-service", "tests", "e2e", "evidence.json");
        using var original = JsonDocument.Parse(text);
        var (report, certs) = TrusteeSnpEvidence.Parse(System.Text.Encoding.UTF8.GetBytes(text));
        var vcek = Assert.Single(certs).RawData;
        var table = new byte[48 + vcek.Length];
        new Guid("63da758d-e664-4564-adc5-f4b93be8accd").TryWriteBytes(table, bigEndian: true, out _);
        BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(16), 48);
        BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(20), (uint)vcek.Length);
        vcek.CopyTo(table, 48);

        var mine = TrusteeSnpEvidenceWriter.Write(report, table);

        Assert.True(JsonElement.DeepEquals(original.RootElement.GetProperty("attestation_report"), mine.GetProperty("attestation_report")));
        var chain = Assert.Single(mine.GetProperty("cert_chain").EnumerateArray());
        Assert.Equal("VCEK", chain.GetProperty("cert_type").GetString());
        Assert.Equal(vcek, chain.GetProperty("data").EnumerateArray().Select(b => b.GetByte()).ToArray());
    }

    [Fact]
    public void Short_report_and_bad_certificate_table_are_refused()
    {
        Assert.Contains("report: 100 bytes", Assert.Throws<AttesterException>(() => TrusteeSnpEvidenceWriter.Write(new byte[100], [])).Message);
        var raw = Vectors.Bytes("go-sev-guest", "verify-testdata", "attestation.bin");
        var table = new byte[48];
        table[0] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(20), 1000);
        Assert.Contains("certificate table entry 0", Assert.Throws<AttesterException>(() => TrusteeSnpEvidenceWriter.Write(raw, table)).Message);
    }

    /// <summary>A recorded report can never carry a fresh challenge's binding: the agent refuses it before the broker sees it.</summary>
    [Fact]
    public void Snp_provider_binds_the_challenge_and_refuses_a_report_without_it()
    {
        var root = Path.Combine(Path.GetTempPath(), "veil-snp-provider-" + Guid.NewGuid().ToString("N"));
        try
        {
            var entry = Path.Combine(root, "e");
            Directory.CreateDirectory(entry);
            File.WriteAllBytes(Path.Combine(entry, "outblob"), Vectors.Bytes("go-sev-guest", "verify-testdata", "attestation.bin"));
            File.WriteAllText(Path.Combine(entry, "provider"), "sev_guest\n");
            File.WriteAllText(Path.Combine(entry, "generation"), "1\n");
            using var key = Veil.Protocol.Client.TeeKey.CreateEc();
            var provider = new SnpEvidenceProvider(new ConfigFsTsmAttester(root, entryName: () => "e"));
            var nonce = Convert.ToBase64String(new byte[32]);
            var e = Assert.Throws<AttesterException>(() => provider.PrimaryEvidence(nonce, key.PublicJson));
            Assert.Contains("report.report_data", e.Message);
            var expected = Veil.Protocol.Binding.ReportDataBinding.CpuReportData(nonce, key.PublicJson, "");
            Assert.Equal(expected, File.ReadAllBytes(Path.Combine(entry, "inblob")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
