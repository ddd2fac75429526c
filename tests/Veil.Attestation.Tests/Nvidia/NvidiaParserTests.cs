using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Veil.Attestation.Nvidia;
using Veil.Tests.Shared;
using static Veil.Attestation.Tests.Nvidia.NvidiaVectorCases;

namespace Veil.Attestation.Tests.Nvidia;

/// <summary>The SPDM report parser against NVIDIA's own golden parse outputs, plus negatives for every length it reads.</summary>
public sealed class NvidiaParserTests
{
    private static readonly Dictionary<string, ushort> OpaqueTypes = new()
    {
        ["OPAQUE_FIELD_ID_DRIVER_VERSION"] = 3,
        ["OPAQUE_FIELD_ID_GPU_INFO"] = 4,
        ["OPAQUE_FIELD_ID_VBIOS_VERSION"] = 6,
        ["OPAQUE_FIELD_ID_NVDEC0_STATUS"] = 11,
        ["OPAQUE_FIELD_ID_CPRINFO"] = 13,
        ["OPAQUE_FIELD_ID_BOARD_ID"] = 14,
        ["OPAQUE_FIELD_ID_CHIP_SKU"] = 15,
        ["OPAQUE_FIELD_ID_CHIP_SKU_MOD"] = 16,
        ["OPAQUE_FIELD_ID_PROJECT"] = 17,
        ["OPAQUE_FIELD_ID_PROJECT_SKU"] = 18,
        ["OPAQUE_FIELD_ID_PROJECT_SKU_MOD"] = 19,
        ["OPAQUE_FIELD_ID_FWID"] = 20,
        ["OPAQUE_FIELD_ID_PROTECTED_PCIE_STATUS"] = 21,
        ["OPAQUE_FIELD_ID_DEVICE_PDI"] = 22,
        ["OPAQUE_FIELD_ID_SWITCH_POSITION_ID"] = 24,
        ["OPAQUE_FIELD_ID_SWITCH_LOCK_STATUS"] = 25,
    };

    private static SpdmMeasurementReport ParseFile(string path) => NvidiaEvidence.Parse(File.ReadAllBytes(path)).Devices[0].Report;

    [Theory]
    [InlineData("hopperAttestationReport.txt", "spdm_parsed_output.json", "spdm_req_parsed_output.json")]
    [InlineData("switchAttestationReport.txt", "switch_spdm_parsed_output.json", "switch_spdm_req_parsed_output.json")]
    public void Parse_equals_nvidias_golden_output(string report, string golden, string goldenRequest)
    {
        var r = ParseFile(Sdk(report));
        using var req = JsonDocument.Parse(File.ReadAllText(Sdk(goldenRequest)));
        Assert.Equal(Hx(req.RootElement, "Nonce"), Hex.Lower(r.Request.Nonce.Span));
        Assert.Equal(Hx(req.RootElement, "Param2"), $"{r.Request.Param2:x2}");
        Assert.Equal(Hx(req.RootElement, "SlotIDParam"), $"{r.Request.SlotId:x2}");

        using var doc = JsonDocument.Parse(File.ReadAllText(Sdk(golden)));
        var g = doc.RootElement;
        Assert.Equal(g.GetProperty("NumberOfBlocks").GetInt32(), r.Blocks.Count);
        Assert.Equal(Hx(g, "Nonce"), Hex.Lower(r.ResponderNonce.Span));
        Assert.Equal(Hx(g, "Signature"), Hex.Lower(r.Signature.Span));
        Assert.Equal(g.GetProperty("OpaqueLength").GetInt32(), r.OpaqueData.Fields.Sum(f => 4 + f.Value.Length));
        foreach (var block in g.GetProperty("MeasurementRecord").GetProperty("MeasurementBlocks").EnumerateObject())
        {
            var b = Assert.Single(r.Blocks, x => x.Index == int.Parse(block.Name, System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(block.Value.GetProperty("DMTFSpecMeasurementValueType").GetInt32(), b.ValueType);
            Assert.Equal(Hx(block.Value, "DMTFSpecMeasurementValue"), Hex.Lower(b.Value.Span));
        }

        var compared = 0;
        foreach (var field in g.GetProperty("OpaqueData").GetProperty("OpaqueDataField").EnumerateObject())
        {
            if (field.Value.ValueKind == JsonValueKind.String && OpaqueTypes.TryGetValue(field.Name, out var type))
            {
                Assert.Equal(Hx(field.Value), Hex.Lower(r.OpaqueData.Get(type)!.Value.Span));
                compared++;
            }
            else if (field.Name == "OPAQUE_FIELD_ID_MSRSCNT")
            {
                var counts = r.OpaqueData.Get(NvidiaOpaqueData.MeasurementCountType)!.Value.ToArray();
                var expected = field.Value.EnumerateArray().Select(e => e.GetUInt32()).ToArray();
                Assert.Equal(expected, Enumerable.Range(0, counts.Length / 4).Select(i => BinaryPrimitives.ReadUInt32LittleEndian(counts.AsSpan(i * 4))));
                compared++;
            }
        }

        Assert.True(compared >= 4, $"only {compared} opaque fields compared");
    }

    [Fact]
    public void Typed_opaque_fields_decode_as_nvidia_prints_them()
    {
        var o = ParseFile(Sdk("hopperAttestationReport.txt")).OpaqueData;
        Assert.Equal("580.159.03", o.DriverVersion);
        Assert.Equal("96.00.74.00.20", o.VbiosVersion);
        Assert.Equal("1010", o.Project);
        Assert.Equal("0205", o.ProjectSku);
        Assert.Equal("862", o.ChipSku);
        Assert.Equal(NvidiaOpaqueData.Disabled, o.NvdecStatus);
        var sw = ParseFile(Sdk("switchAttestationReport.txt")).OpaqueData;
        Assert.Equal("96.10.55.00.01", sw.VbiosVersion);
    }

    [Fact]
    public void Evidence_ending_in_0x0a_is_not_trimmed()
    {
        var json = NvidiaEvidence.Parse(File.ReadAllBytes(SdkCommon("hopper_evidence.json")));
        var report = json.Devices[0].Report;
        Assert.Equal(0x0A, report.Raw.Span[^1]);
        // The same bytes given raw parse to the same report.
        var raw = NvidiaEvidence.Parse(report.Raw.Span).Devices[0].Report;
        Assert.Equal(report.Raw.ToArray(), raw.Raw.ToArray());
    }

    [Fact]
    public void Hex_base64_and_raw_inputs_parse_to_the_same_report()
    {
        var raw = ParseFile(HistoryReport).Raw.ToArray();
        var b64 = Encoding.ASCII.GetBytes(Convert.ToBase64String(raw) + "\n");
        Assert.Equal(raw, NvidiaEvidence.Parse(b64).Devices[0].Report.Raw.ToArray());
        Assert.Equal(raw, NvidiaEvidence.Parse(raw).Devices[0].Report.Raw.ToArray());
    }

    public static TheoryData<int> Cuts() => [0, 1, 36, 37, 44, 45, 100, 3565, 3600, 3700, 4000, 4048];

    [Theory]
    [MemberData(nameof(Cuts))]
    public void Truncated_reports_give_a_named_error(int length)
    {
        var raw = ParseFile(HistoryReport).Raw.ToArray();
        var e = Assert.Throws<EvidenceFormatException>(() => SpdmMeasurementReport.Parse(raw.AsSpan(0, length)));
        Assert.Contains("truncated", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_few_unsigned_bytes_after_the_signature_are_kept_apart_and_many_are_refused()
    {
        var raw = ParseFile(HistoryReport).Raw.ToArray();
        var padded = SpdmMeasurementReport.Parse([.. raw, 0]);
        Assert.Equal(1, padded.TrailingLength);
        Assert.Equal(raw.AsSpan(0, raw.Length - 96).ToArray(), padded.SignedBytes.ToArray());
        Assert.Equal(raw.AsSpan(raw.Length - 96).ToArray(), padded.Signature.ToArray());
        var e = Assert.Throws<EvidenceFormatException>(() => SpdmMeasurementReport.Parse([.. raw, .. new byte[65]]));
        Assert.Equal("report", e.Field);
        Assert.Contains("65 bytes after the signature", e.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 0x10, "request.spdm_version")]
    [InlineData(1, 0x81, "request.code")]
    [InlineData(37, 0x12, "response.spdm_version")]
    [InlineData(38, 0xE0, "response.code")]
    [InlineData(46, 2, "response.measurement_block[0].specification")]
    public void Wrong_header_bytes_name_the_field(int offset, byte value, string field)
    {
        var raw = ParseFile(HistoryReport).Raw.ToArray();
        raw[offset] = value;
        Assert.Equal(field, Assert.Throws<EvidenceFormatException>(() => SpdmMeasurementReport.Parse(raw)).Field);
    }

    [Fact]
    public void A_block_count_that_disagrees_with_the_record_length_is_refused()
    {
        var raw = ParseFile(HistoryReport).Raw.ToArray();
        raw[37 + 4]--; // one block fewer than the record holds
        var e = Assert.Throws<EvidenceFormatException>(() => SpdmMeasurementReport.Parse(raw));
        Assert.Equal("response.measurement_record", e.Field);
    }

    [Theory]
    [InlineData("", "evidence", "empty input")]
    [InlineData("zz", "evidence", "not GPU evidence: 2 bytes of text, neither hex nor base64")]
    [InlineData("{", "evidence", "invalid JSON")]
    [InlineData("[]", "evidence", "the evidence list is empty")]
    [InlineData("[1]", "evidence[0]", "not a JSON object")]
    [InlineData("[{}]", "evidence[0].evidence", "missing")]
    [InlineData("[{\"evidence\": 5}]", "evidence[0].evidence", "expected a string")]
    [InlineData("{\"evidence_list\": {}}", "evidence.evidence_list", "not a list")]
    [InlineData("[{\"evidence\": \"EeAB\", \"nonce\": \"zz\"}]", "report", "truncated")]
    public void Malformed_evidence_gives_a_named_error(string input, string field, string reason)
    {
        var e = Assert.Throws<EvidenceFormatException>(() => NvidiaEvidence.Parse(Encoding.UTF8.GetBytes(input)));
        Assert.Equal(field, e.Field);
        Assert.Contains(reason, e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_certificate_that_is_not_a_certificate_names_its_device()
    {
        var report = Convert.ToBase64String(ParseFile(HistoryReport).Raw.Span);
        var json = $"[{{\"evidence\": \"{report}\"}}, {{\"evidence\": \"{report}\", \"certificate\": \"bm90IGEgY2VydA==\"}}]";
        var e = Assert.Throws<EvidenceFormatException>(() => NvidiaEvidence.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.Equal("evidence[1].certificate", e.Field);
    }

    [Fact]
    public void Fuzzed_evidence_only_ever_gives_named_errors()
    {
        var report = new MutationFuzzer(NvidiaFuzz.Seeds(), seed: 20261122).Run(
            NvidiaFuzz.Target,
            e => e is EvidenceFormatException,
            maxInputs: 200_000,
            budget: TimeSpan.FromSeconds(4));
        Assert.True(report.Inputs > 500, $"only {report.Inputs} inputs in the budget");
        Assert.True(report.CrashCount == 0, string.Join("\n", report.Crashes.Select(c => $"{c.Exception.GetType().Name}: {c.Exception.Message} (input {c.Input.Length} bytes)")));
    }

    [Fact]
    public void Fuzzed_rims_only_ever_give_named_errors()
    {
        var report = new MutationFuzzer([File.ReadAllBytes(TestVbiosRim)], seed: 7).Run(
            NvidiaFuzz.RimTarget,
            e => e is EvidenceFormatException,
            maxInputs: 100_000,
            budget: TimeSpan.FromSeconds(3));
        Assert.True(report.Inputs > 50, $"only {report.Inputs} inputs in the budget");
        Assert.True(report.CrashCount == 0, string.Join("\n", report.Crashes.Select(c => $"{c.Exception.GetType().Name}: {c.Exception.Message}")));
    }

    private static string Hx(JsonElement e, string name) => Hx(e.GetProperty(name));

    private static string Hx(JsonElement e) => e.GetString()!.Replace("0x", "", StringComparison.Ordinal).ToLowerInvariant();
}

/// <summary>The FWID reader over certificate extensions that are not what NVIDIA writes (found by bench/gpu-fuzz).</summary>
public sealed class NvidiaFwidExtensionTests
{
    [Theory]
    [InlineData("3004310205 00", null)] // SEQUENCE { SET { NULL } }: a universal constructed type that is not a SEQUENCE
    [InlineData("3004240204 00", null)] // SEQUENCE { BER constructed OCTET STRING }
    [InlineData("30 13 30 11 06 09 608648016503040202 04 04 01020304", "01020304")]
    [InlineData("30 15 a6 13 30 11 06 09 608648016503040202 04 04 0a0b0c0d", "0a0b0c0d")]
    public void Fwid_is_found_in_a_hash_and_digest_pair_and_anything_else_is_no_fwid(string extensionHex, string? fwid)
    {
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP384);
        var req = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=GH100 A01 GSP FMC LF", key, System.Security.Cryptography.HashAlgorithmName.SHA384);
        req.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509Extension(
            NvidiaDeviceCertificate.TcbInfoOid, Convert.FromHexString(extensionHex.Replace(" ", "", StringComparison.Ordinal)), critical: false));
        using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var found = NvidiaDeviceCertificate.ReadFwid(cert);
        Assert.Equal(fwid, found is { } f ? Hex.Lower(f.Span) : null);
    }
}
