using System.Text;
using Veil.Attestation.Snp;
using Veil.Tests.Shared;
using static Veil.Attestation.Tests.Snp.SnpVectorCases;

namespace Veil.Attestation.Tests.Snp;

/// <summary>Malformed input is a typed error naming the field, never another exception.</summary>
public class SnpParserTests
{
    private static byte[] MilanReport => Ms("milan").Evidence;

    [Theory]
    [InlineData(0, "truncated")]
    [InlineData(1, "truncated")]
    [InlineData(1183, "truncated")]
    [InlineData(1185, "oversized")]
    [InlineData(4096, "oversized")]
    public void Wrong_length_is_named(int length, string reason)
    {
        var input = new byte[length];
        MilanReport.AsSpan(0, Math.Min(length, 1184)).CopyTo(input);
        var e = Assert.Throws<EvidenceFormatException>(() => SnpEvidence.Parse(input));
        Assert.Equal("report", e.Field);
        Assert.Contains(reason, e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Zeroed_report_is_an_unsupported_version()
    {
        var e = Assert.Throws<EvidenceFormatException>(() => SnpEvidence.Parse(new byte[1184]));
        Assert.Equal("report.version", e.Field);
    }

    [Fact]
    public void Report_parsing_copies_its_input()
    {
        var bytes = (byte[])MilanReport.Clone();
        var report = SnpReport.Parse(bytes);
        bytes[0x90] ^= 0xFF;
        Assert.NotEqual(bytes[0x90], report.Measurement.Span[0]);
    }

    [Fact]
    public async Task Zeroed_fields_with_a_valid_version_fail_verification_with_named_checks()
    {
        var zero = new byte[1184];
        zero[0] = 3;
        var result = await Ms("milan").VerifyAsync(zero);
        AssertFailed(result, "report.signature_algo");
        AssertFailed(result, "report.policy.reserved17");
        AssertFailed(result, "report.cpuid");
    }

    [Theory]
    [InlineData("{", "evidence")]
    [InlineData("[]", "evidence")]
    [InlineData("{}", "attestation_report")]
    [InlineData("{\"attestation_report\": 5}", "attestation_report")]
    public void Bad_trustee_json_is_named(string json, string field)
    {
        var e = Assert.Throws<EvidenceFormatException>(() => SnpEvidence.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.Equal(field, e.Field);
    }

    [Theory]
    [InlineData("\"measurement\":[", "\"measurement\":[1,", "attestation_report.measurement")]
    [InlineData("\"vmpl\":0", "\"vmpl\":-1", "attestation_report.vmpl")]
    [InlineData("\"vmpl\":0", "\"vmpl\":\"0\"", "attestation_report.vmpl")]
    [InlineData("\"report_data\":[126", "\"report_data\":[300", "attestation_report.report_data[0]")]
    [InlineData("\"sig_algo\":1,", "", "attestation_report.sig_algo")]
    [InlineData("\"signature\":{\"r\":[", "\"signature\":{\"x\":[", "attestation_report.signature.r")]
    [InlineData("\"cert_chain\":[", "\"cert_chain\":{}, \"x\":[", "cert_chain")]
    public void Trustee_json_field_errors_name_the_field(string find, string replace, string field)
    {
        var json = Encoding.UTF8.GetString(TrusteeEvidenceJson().Evidence);
        Assert.Contains(find, json, StringComparison.Ordinal);
        var edited = json.Replace(find, replace, StringComparison.Ordinal);
        var e = Assert.Throws<EvidenceFormatException>(() => SnpEvidence.Parse(Encoding.UTF8.GetBytes(edited)));
        Assert.Equal(field, e.Field);
    }

    [Fact]
    public void Trustee_json_reencodes_to_the_signed_binary_layout()
    {
        var evidence = SnpEvidence.Parse(TrusteeEvidenceJson().Evidence);
        Assert.Single(evidence.Certificates);
        Assert.Equal(3u, evidence.Report.Version);
        Assert.Equal(new CpuId(0x19, 0xA0, 2), evidence.Report.CpuId);
        Assert.True(Hex.IsZero(evidence.Report.Raw.Span[0x18B..0x1A0]));
    }

    [Fact]
    public async Task Cert_table_round_trips_and_supplies_collateral()
    {
        var ms = Ms("genoa");
        var table = SnpCertTable.Build(
        [
            new SnpCertTableEntry(SnpCertTableEntry.VcekGuid, ms.Leaf!.RawData),
            new SnpCertTableEntry(SnpCertTableEntry.AskGuid, ms.Chain[0].RawData),
            new SnpCertTableEntry(SnpCertTableEntry.ArkGuid, Collateral.AmdRoots.For(SnpProduct.Genoa).Ark.RawData),
        ]);
        var entries = SnpCertTable.Parse([.. table, .. new byte[4000]]);
        Assert.Equal(["vcek", "ask", "ark"], entries.Select(e => e.Kind));

        var evidence = SnpEvidence.Parse(ms.Evidence).WithCertTable(table);
        var verifier = new SnpVerifier(SnpCollateralSources.Evidence(), new FixedTimeProvider(ms.At));
        AssertVerified(await verifier.VerifyAsync(evidence, null));
    }

    /// <summary>
    /// A table laid out by hand as hosts write it (go-sev-guest's abi, virtee's snphost): GUID bytes in RFC 4122 order,
    /// the string's hex digits as written. The verifier read them in .NET's mixed-endian order before, so it found no
    /// VCEK in such a table while the guest agent (which read RFC order) did.
    /// </summary>
    [Fact]
    public async Task A_host_written_cert_table_names_its_vcek_and_verifies()
    {
        var ms = Ms("genoa");
        var vcek = ms.Leaf!.RawData;
        var table = new byte[(2 * 24) + vcek.Length];
        Convert.FromHexString("63da758de6644564adc5f4b93be8accd").CopyTo(table, 0);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(16), 48);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(20), (uint)vcek.Length);
        vcek.CopyTo(table, 48);

        var entry = Assert.Single(SnpCertTable.Parse(table));
        Assert.Equal("vcek", entry.Kind);
        var evidence = SnpEvidence.Parse(ms.Evidence).WithCertTable(table);
        var verifier = new SnpVerifier(SnpCollateralSources.Evidence(), new FixedTimeProvider(ms.At));
        AssertVerified(await verifier.VerifyAsync(evidence, null));
    }

    [Fact]
    public void Cert_table_errors_are_named()
    {
        var ms = Ms("genoa");
        var table = SnpCertTable.Build([new SnpCertTableEntry(SnpCertTableEntry.VcekGuid, ms.Leaf!.RawData)]);
        var unterminated = new byte[30];
        SnpCertTableEntry.VcekGuid.TryWriteBytes(unterminated, bigEndian: true, out _);
        unterminated[16] = 24;
        unterminated[20] = 6;
        Assert.Contains("terminating", Assert.Throws<EvidenceFormatException>(() => SnpCertTable.Parse(unterminated)).Reason, StringComparison.Ordinal);
        Assert.Equal("cert_table[0]", Assert.Throws<EvidenceFormatException>(() => SnpCertTable.Parse(table.AsSpan(0, 24))).Field);
        var outside = (byte[])table.Clone();
        outside[20] = 0xFF;
        outside[21] = 0xFF;
        Assert.Equal("cert_table[0]", Assert.Throws<EvidenceFormatException>(() => SnpCertTable.Parse(outside)).Field);
        Assert.Throws<EvidenceFormatException>(() => SnpCertTable.Parse(table.AsSpan(0, table.Length - 1)));
    }

    [Fact]
    public void Seeded_mutation_fuzzer_finds_no_untyped_exception()
    {
        var seeds = SnpFuzzSeeds.All();
        var report = new MutationFuzzer(seeds, seed: 20261121).Run(
            SnpFuzzSeeds.Target,
            e => e is EvidenceFormatException,
            maxInputs: 200_000,
            budget: TimeSpan.FromSeconds(4));
        Assert.True(report.Inputs > 1000, $"only {report.Inputs} inputs in the budget");
        Assert.True(report.CrashCount == 0, string.Join("\n", report.Crashes.Select(c => $"{c.Exception.GetType().Name}: {c.Exception.Message} (input {c.Input.Length} bytes)")));
    }
}
