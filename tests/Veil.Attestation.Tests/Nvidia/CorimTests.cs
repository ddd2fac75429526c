using Veil.Attestation.Nvidia;
using Veil.Attestation.Nvidia.Rim;
using Veil.Tests.Shared;
using static Veil.Attestation.Tests.Nvidia.NvidiaVectorCases;

namespace Veil.Attestation.Tests.Nvidia;

/// <summary>
/// CoRIM reading: the real unsigned CoRIM in the shared vectors, CoRIMs made from the real NVIDIA SWID RIMs (same
/// measurements, so the comparison with real reports must come out the same), and malformed input of every kind
/// giving a typed error that names the field.
/// </summary>
public sealed class CorimTests
{
    private static readonly string TrusteeCorim = Vectors.Path("trustee", "rvps", "src", "extractors", "corim", "unsigned-example-corim.cbor");

    [Fact]
    public void Trustee_unsigned_example_reads_three_acme_measurements_as_trustees_own_test_expects()
    {
        var content = CorimDocument.Read(File.ReadAllBytes(TrusteeCorim), "trustee");
        Assert.Equal("test corim id", content.Id);
        Assert.Null(content.Cose);
        var m = Assert.Single(content.Comids).Measurements;
        Assert.Equal(3, m.Count);
        Assert.All(m, x => Assert.Contains("model=RoadRunner, vendor=ACME", x.Environment, StringComparison.Ordinal));
        Assert.Equal("a3a5e715f0cc574a73c3f9bebb6bc24f32ffd5b67b387244c2c909da779a1478", Hex.Lower(m[2].Values[0].Span));
        // Its mkeys are UUIDs, not SPDM indices: nothing in it can be compared with a GPU report.
        Assert.All(m, x => Assert.Null(x.Index));
        var e = Assert.Throws<EvidenceFormatException>(() => RimDocument.Parse(File.ReadAllBytes(TrusteeCorim), "trustee.cbor"));
        Assert.Contains("no reference measurement with an SPDM index", e.Reason, StringComparison.Ordinal);
        Assert.StartsWith("trustee.cbor", e.Field, StringComparison.Ordinal);
    }

    [Fact]
    public void Corim_made_from_the_vbios_swid_rim_has_the_same_version_kind_and_measurements()
    {
        using var pki = new TestPki();
        var swid = RimDocument.Parse(File.ReadAllBytes(TestVbiosRim), "vbios");
        var corim = RimDocument.Parse(CorimBuilder.SignedFromSwid(swid, pki), "vbios.corim");
        Assert.Equal(RimFormat.Corim, corim.Format);
        Assert.Equal("96.00.5E.00.01", corim.Version);
        Assert.Equal(RimKind.Firmware, corim.Kind);
        Assert.Equal(swid.Product, corim.Product);
        var expected = swid.Measurements.Where(m => m.Active).ToList();
        Assert.Equal(expected.Select(m => m.Index), corim.Measurements.Select(m => m.Index));
        Assert.All(corim.Measurements.Zip(expected), p =>
        {
            Assert.Equal(p.Second.Size, p.First.Size);
            Assert.Equal(p.Second.Alternatives.Select(a => Hex.Lower(a.Span)), p.First.Alternatives.Select(a => Hex.Lower(a.Span)));
        });
    }

    public static TheoryData<string, string, string> ReportRimPairs() => new()
    {
        { "history", "driver", "test_no_gpu driver RIM: all 21 match" },
        { "history", "vbios", "test_no_gpu VBIOS RIM: all 12 match" },
        { "sample", "driver", "550.90.07 report vs 545.00 driver RIM: mismatches" },
        { "sample", "vbios", "96.00.9F report vs 96.00.5E VBIOS RIM: mismatches" },
        { "sdk", "sdk-vbios-mismatch", "SDK sample: index 9 differs" },
    };

    [Theory]
    [MemberData(nameof(ReportRimPairs))]
    public void Real_report_against_a_corim_names_the_same_mismatching_indices_as_against_the_swid_rim(string report, string rim, string because)
    {
        var (reportPath, rimPath) = (report, rim) switch
        {
            ("history", _) => (HistoryReport, rim == "driver" ? TestDriverRim : TestVbiosRim),
            ("sample", _) => (SampleReport, rim == "driver" ? TestDriverRim : TestVbiosRim),
            _ => (Gpu("hopperAttestationReport.txt"), Sdk("sample_rims", "NV_GPU_VBIOS_1010_0200_882_96005E0001_measurement_mismatch.xml")),
        };
        var spdm = NvidiaEvidence.Parse(File.ReadAllBytes(reportPath)).Devices[0].Report;
        using var pki = new TestPki();
        var swid = RimDocument.Parse(File.ReadAllBytes(rimPath), "swid");
        var corim = RimDocument.Parse(CorimBuilder.SignedFromSwid(swid, pki), "corim");

        var swidFailures = new List<VerificationFailure>();
        var corimFailures = new List<VerificationFailure>();
        var fromSwid = MeasurementComparison.Compare(spdm, [("x", swid)], swidFailures);
        var fromCorim = MeasurementComparison.Compare(spdm, [("x", corim)], corimFailures);
        Assert.Equal(fromSwid, fromCorim);
        Assert.Equal(swidFailures, corimFailures);
        if (because.Contains("all", StringComparison.Ordinal))
        {
            Assert.Empty(fromCorim);
        }
        else
        {
            Assert.NotEmpty(fromCorim);
        }

        if (report == "sdk")
        {
            Assert.Equal([9], fromCorim);
        }
    }

    [Fact]
    public void Measurement_version_wins_over_the_tag_id_and_alternatives_in_one_digest_list_are_all_kept()
    {
        var comid = new CborOut().Map(2)
            .Int(1).Map(1).Int(0).Text("no-version-here")
            .Int(4).Map(1).Int(0).Array(1)
            .Array(2).Map(1).Int(0).Map(1).Int(2).Text("GB100 A01 GSP")
            .Array(1).Map(2).Int(0).Int(3).Int(1).Map(2)
            .Int(0).Map(1).Int(0).Text("575.32")
            .Int(2).Array(2).Array(2).Int(7).Bytes(new byte[48]).Array(2).Int(-43).Bytes(Enumerable.Repeat((byte)1, 48).ToArray())
            .ToArray();
        var rim = RimDocument.Parse(CorimBuilder.CorimMap("ignored_1.2", [comid]), "v");
        Assert.Equal("575.32", rim.Version);
        Assert.Equal(RimKind.Driver, rim.Kind);
        var m = Assert.Single(rim.Measurements);
        Assert.Equal(2, m.Index);
        Assert.Equal(2, m.Alternatives.Count);
    }

    [Fact]
    public void Nvidia_networking_envelope_500_502_around_an_untagged_cose_array_is_read()
    {
        using var pki = new TestPki();
        var swid = RimDocument.Parse(File.ReadAllBytes(TestVbiosRim), "vbios");
        var signed = CorimBuilder.SignedFromSwid(swid, pki);
        var untagged = signed[1..]; // drop 0xd2 (#6.18): draft-06 signed-corim carries the bare array
        var wrapped = new CborOut().Tag(500).Tag(502).Raw(untagged).ToArray();
        var rim = RimDocument.Parse(wrapped, "cx7.corim");
        Assert.Equal("96.00.5E.00.01", rim.Version);
        Assert.NotNull(rim.Cose);
        Assert.Null(RimCheck.Signature(rim).Problem);
    }

    [Fact]
    public void Comid_given_as_a_map_rather_than_a_byte_string_is_read_too()
    {
        var comid = CorimBuilder.Comid("fw-97.00.88.00.0F", "GB100 A01 FSP", [new RefValue(1, [], Raw: [0, 0, 0, 1])]);
        var map = new CborOut().Tag(501).Map(2).Int(0).Text("x").Int(1).Array(1).Tag(506).Raw(comid).ToArray();
        var rim = RimDocument.Parse(map, "m");
        Assert.Equal("97.00.88.00.0F", rim.Version);
        Assert.Equal(0, Assert.Single(rim.Measurements).Index);
        Assert.Equal("00000001", Hex.Lower(rim.Measurements[0].Alternatives[0].Span));
    }

    private static byte[] Unsigned(params RefValue[] values) =>
        CorimBuilder.CorimMap("NV_GPU_CC_DRIVER_GB100_575.32", [CorimBuilder.Comid("t", "GB100", values)]);

    private static readonly byte[] D48 = new byte[48];

    public static TheoryData<string, string, string> Malformed() => new()
    {
        // hex of the whole input, the field the error must start with, a piece of its reason
        { "", "bad", "empty RIM" },
        { "d901", "bad.corim", "truncated" },
        { "d901f7a0", "bad.corim", "found tag 503" },
        { "84", "bad.corim", "found array" },
        { "d901f5bfff", "bad.corim-map", "indefinite-length" },
        { "d901f580", "bad.corim-map", "expected a map, found an array" },
        { "d901f5a10078ff", "bad.corim-map[0].id", "declares 255 bytes, only 0 remain" },
        { "d901f5bb00000000ffffffff", "bad.corim-map", "declares 4294967295 entries" },
        { "d901f5a2006161006162", "bad.corim-map[0]", "key appears twice" },
        { "d901f5a20062c328", "bad.corim-map[0].id", "not valid UTF-8" },
        { "d901f5a2006178", "bad.corim-map", "declares 2 entries, only 3 bytes remain" },
        { "d901f5a10061", "bad.corim-map[0].id", "declares 1 bytes, only 0 remain" },
        { "d901f5a1006178", "bad.corim-map.tags", "missing" },
        { "d901f5a200617801a0", "bad.corim-map[1].tags", "expected an array" },
        { "d901f5a2006178018105", "bad.corim-map.tags", "no CoMID" },
        { "d901f5a20061780181d901fa40", "bad.corim-map[1].tags[0].comid", "truncated" },
        { "d901f5a2006178019c", "bad.corim-map[1].tags", "reserved additional information 28" },
        { "d2a0", "bad.cose", "expected an array" },
        { "d28340a0f6", "bad.cose", "has 3 elements" },
        { "d28440a0f640", "bad.cose.payload", "detached payload" },
        { "d2844161a0f640", "bad.cose.protected", "expected a map, found a text string" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_cbor_gives_a_typed_error_naming_the_field(string hex, string field, string reason)
    {
        var e = Assert.Throws<EvidenceFormatException>(() => RimDocument.Parse(Convert.FromHexString(hex), "bad"));
        Assert.StartsWith(field, e.Field, StringComparison.Ordinal);
        Assert.Contains(reason, e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Nesting_deeper_than_the_limit_in_a_skipped_value_is_refused()
    {
        var deep = new CborOut().Tag(501).Map(1).Int(9);
        for (var i = 0; i < CborReader.MaxDepth + 1; i++)
        {
            deep.Array(1);
        }

        var e = Assert.Throws<EvidenceFormatException>(() => RimDocument.Parse(deep.Int(0).ToArray(), "deep"));
        Assert.Equal("deep.corim-map[9]", e.Field);
        Assert.Contains("nested deeper than 32", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Trailing_bytes_after_the_corim_are_refused()
    {
        var e = Assert.Throws<EvidenceFormatException>(() => RimDocument.Parse([.. Unsigned(new RefValue(2, [D48])), 0x00], "t"));
        Assert.Equal("t.corim-map", e.Field);
        Assert.Contains("1 unexpected bytes", e.Reason, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> BadProfiles() => new()
    {
        { "mkey0", "is not an SPDM measurement index" },
        { "mkey255", "is not an SPDM measurement index" },
        { "sizes", "alternatives of different lengths" },
        { "two-envs", "is claimed by two environments" },
        { "no-version", "no version" },
        { "two-versions", "state different versions" },
        { "short-digest", "47 bytes for a 384-bit digest" },
        { "alg", "digest algorithm 99 is not supported" },
        { "mask", "masked raw values are not supported" },
        { "untagged-raw", "expected tagged bytes" },
        { "no-mval", "missing" },
        { "no-spdm-index", "no reference measurement with an SPDM index" },
    };

    [Theory]
    [MemberData(nameof(BadProfiles))]
    public void Corims_outside_the_nvidia_profile_give_a_typed_error(string which, string reason)
    {
        var bytes = which switch
        {
            "mkey0" => Unsigned(new RefValue(0, [D48])),
            "mkey255" => Unsigned(new RefValue(255, [D48])),
            "sizes" => Unsigned(new RefValue(2, [D48]), new RefValue(2, [], Raw: [1, 2, 3, 4])),
            "two-envs" => CorimBuilder.CorimMap("x_1.0", [CorimBuilder.Comid("a", "GB100 A01 GSP", [new RefValue(2, [D48])]), CorimBuilder.Comid("b", "GB100 A01 FSP", [new RefValue(2, [D48])])]),
            "no-version" => CorimBuilder.CorimMap("no version", [CorimBuilder.Comid("nor here", "GB100", [new RefValue(2, [D48])])]),
            "two-versions" => Unsigned(new RefValue(2, [D48], Version: "1.0"), new RefValue(3, [D48], Version: "2.0")),
            "short-digest" => Unsigned(new RefValue(2, [new byte[47]])),
            "no-spdm-index" => Unsigned(new RefValue(null, [D48])),
            _ => Edited(which),
        };
        var e = Assert.Throws<EvidenceFormatException>(() => RimDocument.Parse(bytes, "p"));
        Assert.Contains(reason, e.Reason, StringComparison.Ordinal);
        Assert.StartsWith("p.corim-map", e.Field, StringComparison.Ordinal);
    }

    /// <summary>One measurement-values-map written by hand for the cases the builder does not produce.</summary>
    private static byte[] Edited(string which)
    {
        var mval = which switch
        {
            "alg" => new CborOut().Map(1).Int(2).Array(1).Array(2).Int(99).Bytes(D48),
            "mask" => new CborOut().Map(2).Int(4).Tag(560).Bytes([1]).Int(5).Bytes([1]),
            "untagged-raw" => new CborOut().Map(1).Int(4).Bytes([1]),
            _ => null,
        };
        var claim = new CborOut().Map(mval is null ? 1 : 2).Int(0).Int(2);
        if (mval is not null)
        {
            claim.Int(1).Raw(mval.ToArray());
        }

        var comid = new CborOut().Map(2).Int(1).Map(1).Int(0).Text("t_1.0")
            .Int(4).Map(1).Int(0).Array(1).Array(2).Map(0).Array(1).Raw(claim.ToArray()).ToArray();
        return CorimBuilder.CorimMap("x", [comid]);
    }
}
