using System.Security.Cryptography;
using Veil.Attestation.Nvidia;
using Veil.Attestation.Nvidia.Rim;
using static Veil.Attestation.Tests.Nvidia.NvidiaVectorCases;

namespace Veil.Attestation.Tests.Nvidia;

/// <summary>
/// Where System.Formats.Cbor and System.Security.Cryptography.Cose decide, the errors stay named: oversized
/// lengths, integers out of range, indefinite lengths, tag chains, and the COSE decoder's own refusals (labels in
/// both buckets, crit naming an absent header, wrongly typed known headers) are <see cref="EvidenceFormatException"/>
/// with the field, never a library exception; and what the hand-written reader accepted (non-shortest heads) still reads.
/// </summary>
public sealed class CorimLibraryEdgeTests : IDisposable
{
    private readonly TestPki pki = new();
    private readonly byte[] payload;

    public CorimLibraryEdgeTests()
    {
        var vbios = RimDocument.Parse(File.ReadAllBytes(TestVbiosRim), "vbios");
        payload = CorimBuilder.CorimMap("NV_VBIOS_96.00.5E.00.01", [CorimBuilder.Comid("v-96.00.5E.00.01", "GH100", CorimBuilder.FromSwid(vbios))]);
    }

    public void Dispose() => pki.Dispose();

    public static TheoryData<string, string, string> Malformed() => new()
    {
        { "d901f5a1005bffffffffffffffff", "bad.corim-map[0].id", "declares 18446744073709551615 bytes, only 0 remain" },
        { "d901f5a13bffffffffffffffff00", "bad.corim-map.key", "integer out of range" },
        { "d901f5a1ff00", "bad.corim-map", "indefinite-length" },
        { "d901f5a1007f6178ff", "bad.corim-map[0].id", "indefinite-length" },
        { "d901f5a1099f00ff", "bad.corim-map[9]", "indefinite-length" },
        { "d901f5a109bf0000ff", "bad.corim-map[9]", "indefinite-length" },
        { "d901f5a1095f4100ff", "bad.corim-map[9]", "indefinite-length" },
        { "d901f5a109fa", "bad.corim-map[9]", "truncated: the item head needs 5 bytes, 1 remain" },
        { "d901f5a1099a", "bad.corim-map[9]", "truncated: the item head needs 5 bytes, 1 remain" },
        { "d901f5a109fc", "bad.corim-map[9]", "reserved additional information 28" },
        { "d901f5a10063c328", "bad.corim-map[0].id", "declares 3 bytes, only 2 remain" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_cbor_the_library_refuses_gives_a_typed_error_naming_the_field(string hex, string field, string reason)
    {
        var e = Assert.Throws<EvidenceFormatException>(() => RimDocument.Parse(Convert.FromHexString(hex), "bad"));
        Assert.Equal(field, e.Field);
        Assert.Contains(reason, e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_chain_of_tags_deeper_than_the_limit_in_a_skipped_value_is_refused()
    {
        var deep = new CborOut().Tag(501).Map(1).Int(9);
        for (var i = 0; i < CborReader.MaxDepth + 1; i++)
        {
            deep.Tag(1000);
        }

        var e = Assert.Throws<EvidenceFormatException>(() => RimDocument.Parse(deep.Int(0).ToArray(), "deep"));
        Assert.Equal("deep.corim-map[9]", e.Field);
        Assert.Contains("nested deeper than 32", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Non_shortest_heads_still_read_as_the_hand_written_reader_read_them()
    {
        // id "x" with a one-byte length argument (0x78 0x01) instead of the shortest form (0x61): well-formed CBOR.
        var comid = CorimBuilder.Comid("t_1.0", "GB100", [new RefValue(2, [new byte[48]])]);
        var corim = new CborOut().Tag(501).Map(2).Int(0).Raw([0x78, 0x01, (byte)'x']).Int(1).Array(1).Tag(506).Bytes(comid).ToArray();
        var rim = RimDocument.Parse(corim, "lax");
        Assert.Equal("x", rim.TagId);
        Assert.Equal(1, Assert.Single(rim.Measurements).Index);
    }

    [Fact]
    public void Invalid_utf8_in_a_skipped_text_value_is_skipped_and_in_a_read_one_refused()
    {
        var comid = CorimBuilder.Comid("t_1.0", "GB100", [new RefValue(2, [new byte[48]])]);
        var skipped = new CborOut().Tag(501).Map(3).Int(0).Text("x").Int(1).Array(1).Tag(506).Bytes(comid).Int(9).Raw([0x62, 0xc3, 0x28]).ToArray();
        Assert.Equal("x", RimDocument.Parse(skipped, "u").TagId);
        var read = new CborOut().Tag(501).Map(2).Int(0).Raw([0x62, 0xc3, 0x28]).Int(1).Array(1).Tag(506).Bytes(comid).ToArray();
        var e = Assert.Throws<EvidenceFormatException>(() => RimDocument.Parse(read, "u"));
        Assert.Equal("u.corim-map[0].id", e.Field);
        Assert.Contains("not valid UTF-8", e.Reason, StringComparison.Ordinal);
    }

    private byte[] ChainItem()
    {
        var c = new CborOut().Array(pki.Chain.Count);
        foreach (var cert in pki.Chain)
        {
            c.Bytes(cert.RawData);
        }

        return c.ToArray();
    }

    /// <summary>A COSE_Sign1 with the headers given as encoded maps, signed over its real Sig_structure.</summary>
    private byte[] Cose(byte[] protectedMap, byte[] unprotectedMap, byte[]? body = null)
    {
        body ??= payload;
        var tbs = new CborOut().Array(4).Text("Signature1").Bytes(protectedMap).Bytes([]).Bytes(body).ToArray();
        var signature = pki.SignerKey.SignData(tbs, HashAlgorithmName.SHA384, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return new CborOut().Tag(18).Array(4).Bytes(protectedMap).Raw(unprotectedMap).Bytes(body).Bytes(signature).ToArray();
    }

    private static string? Problem(byte[] corim) => RimCheck.Signature(RimDocument.Parse(corim, "c")).Problem;

    /// <summary>Every failure of the signature, the chain (to the test root) and the rest of the RIM checks.</summary>
    private List<VerificationFailure> Failures(byte[] corim)
    {
        var none = NvidiaCollateralSources.None();
        var failures = new List<VerificationFailure>();
        new RimCheck(none, new NvidiaChain(), new OcspCheck(none), pki.Root).CheckDocument(RimDocument.Parse(corim, "c"), "rim", RimTime, failures);
        return failures;
    }

    [Fact]
    public void The_hand_built_message_verifies_so_the_refusals_below_are_about_their_one_change()
    {
        var ok = Cose(new CborOut().Map(2).Int(1).Int(-35).Int(33).Raw(ChainItem()).ToArray(), new CborOut().Map(0).ToArray());
        Assert.Null(Problem(ok));
    }

    public static TheoryData<string, string> CoseRefusals() => new()
    {
        { "alg-in-both", "must not contain duplicate labels" },
        { "crit-absent", "Critical Header '99' missing" },
        { "kid-int", "Header '4' does not accept" },
        { "duplicate-text-label", "not a valid COSE_Sign1" },
    };

    [Theory]
    [MemberData(nameof(CoseRefusals))]
    public void Headers_the_cose_decoder_refuses_are_typed_errors_on_the_message(string which, string reason)
    {
        var (p, u) = which switch
        {
            "alg-in-both" => (new CborOut().Map(2).Int(1).Int(-35).Int(33).Raw(ChainItem()), new CborOut().Map(1).Int(1).Int(-35)),
            "crit-absent" => (new CborOut().Map(3).Int(1).Int(-35).Int(2).Array(1).Int(99).Int(33).Raw(ChainItem()), new CborOut().Map(0)),
            "kid-int" => (new CborOut().Map(2).Int(1).Int(-35).Int(33).Raw(ChainItem()), new CborOut().Map(1).Int(4).Int(7)),
            _ => (new CborOut().Map(2).Int(1).Int(-35).Int(33).Raw(ChainItem()), new CborOut().Map(2).Text("a").Int(1).Text("a").Int(2)),
        };
        var e = Assert.Throws<EvidenceFormatException>(() => RimDocument.Parse(Cose(p.ToArray(), u.ToArray()), "c"));
        Assert.Equal("c.cose", e.Field);
        Assert.Contains(reason, e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Crit_naming_a_present_header_parses_and_fails_the_signature_check_by_name()
    {
        var corim = Cose(new CborOut().Map(3).Int(1).Int(-35).Int(2).Array(1).Int(33).Int(33).Raw(ChainItem()).ToArray(), new CborOut().Map(0).ToArray());
        Assert.Contains("critical parameters (crit)", Problem(corim), StringComparison.Ordinal);
    }

    [Fact]
    public void Alg_only_in_the_unprotected_header_does_not_count()
    {
        var corim = Cose(new CborOut().Map(1).Int(33).Raw(ChainItem()).ToArray(), new CborOut().Map(1).Int(1).Int(-35).ToArray());
        Assert.Equal("no alg in the protected header", Problem(corim));
    }

    [Fact]
    public void A_text_alg_a_malformed_x5t_and_an_indefinite_payload_are_typed_errors()
    {
        var textAlg = Cose(new CborOut().Map(2).Int(1).Text("ES384").Int(33).Raw(ChainItem()).ToArray(), new CborOut().Map(0).ToArray());
        var e = Assert.Throws<EvidenceFormatException>(() => RimDocument.Parse(textAlg, "c"));
        Assert.Equal(("c.cose.protected[1]", "alg must be an integer"), (e.Field, e.Reason));

        var x5t = Cose(new CborOut().Map(3).Int(1).Int(-35).Int(33).Raw(ChainItem()).Int(34).Array(1).Int(-43).ToArray(), new CborOut().Map(0).ToArray());
        e = Assert.Throws<EvidenceFormatException>(() => RimDocument.Parse(x5t, "c"));
        Assert.Equal(("c.cose.protected[34]", "x5t must be [hashAlg, hashValue]"), (e.Field, e.Reason));

        var indefinite = new CborOut().Tag(18).Array(4).Bytes(new CborOut().Map(1).Int(1).Int(-35).ToArray()).Map(0).Raw([0x5f, 0x41, 0x00, 0xff]).Bytes(new byte[96]).ToArray();
        e = Assert.Throws<EvidenceFormatException>(() => RimDocument.Parse(indefinite, "c"));
        Assert.Equal("c.cose.payload", e.Field);
        Assert.Contains("indefinite-length", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_truncation_and_byte_flip_of_a_hand_built_message_is_a_typed_error_or_a_named_failure()
    {
        var corim = Cose(new CborOut().Map(1).Int(1).Int(-35).ToArray(), new CborOut().Map(1).Int(33).Raw(ChainItem()).ToArray());
        Assert.Empty(Failures(corim));
        for (var n = 0; n < corim.Length; n++)
        {
            var e = Record.Exception(() => RimDocument.Parse(corim.AsSpan(0, n), "cut"));
            Assert.True(e is EvidenceFormatException, $"truncated to {n} bytes: {e?.GetType().Name ?? "parsed"}");
        }

        for (var offset = 0; offset < corim.Length; offset += 7)
        {
            var flipped = (byte[])corim.Clone();
            flipped[offset] ^= 0xFF;
            var e = Record.Exception(() => Assert.NotEmpty(Failures(flipped)));
            Assert.True(e is null or EvidenceFormatException, $"flip at {offset}: {e}");
        }
    }
}
