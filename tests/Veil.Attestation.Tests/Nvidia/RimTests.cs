using System.Text;
using Veil.Attestation.Nvidia;
using Veil.Attestation.Nvidia.Rim;
using static Veil.Attestation.Tests.Nvidia.NvidiaVectorCases;

namespace Veil.Attestation.Tests.Nvidia;

/// <summary>RIM parsing, XML signature and signing chain against the real NVIDIA RIMs and edited copies of them.</summary>
public sealed class RimTests
{
    private static List<VerificationFailure> Check(byte[] bytes, DateTimeOffset at, string name = "rim")
    {
        var none = NvidiaCollateralSources.None();
        var failures = new List<VerificationFailure>();
        new RimCheck(none, new NvidiaChain(), new OcspCheck(none)).CheckDocument(RimDocument.Parse(bytes, name), "rim", at, failures);
        return failures;
    }

    public static TheoryData<string> Swidtags() =>
        [.. Directory.GetFiles(Nvtrust("local_gpu_verifier-samples"), "*.swidtag").Select(f => Path.GetFileName(f)).Order()];

    [Theory]
    [MemberData(nameof(Swidtags))]
    public void Every_genuine_nvtrust_rim_verifies_inside_its_signing_window(string file)
    {
        var bytes = File.ReadAllBytes(Nvtrust("local_gpu_verifier-samples", file));
        var rim = RimDocument.Parse(bytes, file);
        var (chain, problem) = RimSignature.Check(rim);
        Assert.Null(problem);
        Assert.Equal(4, chain.Count);
        Assert.Equal("NVIDIA CoRIM signing Root CA", NvidiaChain.Name(chain[^1]));
        var inside = new DateTimeOffset(chain[0].NotBefore.ToUniversalTime(), TimeSpan.Zero).AddDays(1);
        Assert.Empty(Check(bytes, inside));
        Assert.Equal(rim.Kind == RimKind.Driver ? 21 : 12, rim.Measurements.Count(m => m.Active));
        if (rim.Kind == RimKind.Firmware)
        {
            // File name = <project>_<sku>_<chip sku>_<version without dots>_….
            Assert.Equal(rim.Version.Replace(".", "", StringComparison.Ordinal), file.Split('_')[3].ToUpperInvariant());
        }
    }

    [Fact]
    public void Sdk_driver_rim_550_144_03_verifies_and_reads_its_version_and_manufacturer()
    {
        var bytes = File.ReadAllBytes(Sdk("NV_GPU_DRIVER_GH100_550.144.03.xml"));
        var rim = RimDocument.Parse(bytes, "550");
        Assert.Equal("550.144.03", rim.Version);
        Assert.Equal("5703", rim.ManufacturerId);
        Assert.Equal(RimKind.Driver, rim.Kind);
        Assert.Contains(rim.Measurements, m => m.Active && m.Alternatives.Count == 4);
        Assert.Empty(Check(bytes, Rim550Time));
    }

    [Fact]
    public void Rim_with_an_incorrect_signature_fails_the_signature_check_only()
    {
        var failures = Check(File.ReadAllBytes(Sdk("incorrect_signature_driver_rim.xml")), Rim550Time);
        var f = Assert.Single(failures);
        Assert.Equal("rim.signature", f.Check);
        Assert.Contains("does not verify", f.Actual, StringComparison.Ordinal);
    }

    [Fact]
    public void Rim_signed_by_a_debug_only_chain_is_refused_at_the_pinned_root()
    {
        var failures = Check(File.ReadAllBytes(Sdk("incorrect_cert_chain_driver_rim.xml")), Rim550Time);
        var f = Assert.Single(failures, f => f.Check == "rim.chain.root");
        Assert.Contains("Debug Only", f.Actual, StringComparison.Ordinal);
        Assert.Contains("12977b5115acb0381179279fffeb5a8c4d264971ebb32298023a465fa41df5d1", f.Expected, StringComparison.Ordinal);
    }

    [Fact]
    public void Switch_bios_rim_verifies_and_is_a_firmware_rim()
    {
        var bytes = File.ReadAllBytes(Sdk("switchVBIOSRim_NV_SWITCH_BIOS_5612_0002_890_9610550001.xml"));
        Assert.Equal(RimKind.Firmware, RimDocument.Parse(bytes, "switch").Kind);
        Assert.Empty(Check(bytes, DateTimeOffset.Parse("2026-06-01T00:00:00Z")));
        Assert.Contains(Check(File.ReadAllBytes(Sdk("sample_rims", "NV_SWITCH_BIOS_5612_0002_890_9610550001_invalid_signature.xml")), DateTimeOffset.Parse("2026-06-01T00:00:00Z")),
            f => f.Check == "rim.signature");
    }

    [Fact]
    public void Editing_one_golden_hash_breaks_the_signature()
    {
        var text = File.ReadAllText(TestVbiosRim);
        var rim = RimDocument.Parse(Encoding.UTF8.GetBytes(text), "vbios");
        var hash = Hex.Lower(rim.Measurements.First(m => m.Active).Alternatives[0].Span);
        var edited = text.Replace(hash, hash[..^1] + (hash[^1] == '0' ? '1' : '0'), StringComparison.Ordinal);
        Assert.Equal("rim.signature", Assert.Single(Check(Encoding.UTF8.GetBytes(edited), RimTime)).Check);
    }

    [Fact]
    public void A_second_signature_element_is_refused_before_any_cryptography()
    {
        var text = File.ReadAllText(TestVbiosRim);
        var start = text.IndexOf("<ds:Signature", StringComparison.Ordinal);
        var end = text.IndexOf("</ds:Signature>", StringComparison.Ordinal) + "</ds:Signature>".Length;
        var doubled = text.Insert(end, text[start..end]);
        var f = Assert.Single(Check(Encoding.UTF8.GetBytes(doubled), RimTime), f => f.Check == "rim.signature");
        Assert.Contains("found 2", f.Actual, StringComparison.Ordinal);
    }

    [Fact]
    public void A_signing_certificate_with_a_malformed_public_key_is_a_named_problem_not_an_exception()
    {
        // Found by the RIM fuzzer: decoding the key threw out of the signature check.
        var text = File.ReadAllText(TestVbiosRim);
        var start = text.IndexOf("<ds:X509Certificate>", StringComparison.Ordinal) + "<ds:X509Certificate>".Length;
        var end = text.IndexOf("</ds:X509Certificate>", start, StringComparison.Ordinal);
        var der = Convert.FromBase64String(text[start..end]);
        var point = der.AsSpan().IndexOf(new byte[] { 0x03, 0x62, 0x00, 0x04 });
        Assert.True(point > 0);
        der[point + 3] = 0x05; // not an uncompressed point any more
        var edited = text[..start] + Convert.ToBase64String(der) + text[end..];
        var (_, problem) = RimSignature.Check(RimDocument.Parse(Encoding.UTF8.GetBytes(edited), "vbios"));
        Assert.NotNull(problem);
        var failures = Check(Encoding.UTF8.GetBytes(edited), RimTime);
        Assert.Contains(failures, f => f.Check == "rim.signature");
    }

    [Theory]
    [InlineData("", "empty RIM")]
    [InlineData("not xml", "not well-formed XML")]
    [InlineData("<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e \"boom\">]><x>&e;</x>", "not well-formed XML")]
    [InlineData("<SoftwareIdentity/>", "not a SWID SoftwareIdentity")]
    [InlineData("<SoftwareIdentity xmlns=\"http://standards.iso.org/iso/19770/-2/2015/schema.xsd\" tagId=\"x\"/>", "Meta: missing")]
    [InlineData("<SoftwareIdentity xmlns=\"http://standards.iso.org/iso/19770/-2/2015/schema.xsd\" tagId=\"x\"><Meta/></SoftwareIdentity>", "colloquialVersion: missing")]
    public void Malformed_rims_give_a_named_error(string xml, string reason)
    {
        var e = Assert.Throws<EvidenceFormatException>(() => RimDocument.Parse(Encoding.UTF8.GetBytes(xml), "bad.xml"));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("bad.xml", e.Field, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ns2:Hash0=\"", "ns2:Hash0=\"zz", "not valid hex")]
    [InlineData("active=\"True\"", "active=\"maybe\"", "is not True or False")]
    [InlineData("index=\"7\"", "index=\"-7\"", "non-negative integer")]
    [InlineData("index=\"8\"", "index=\"7\"", "appears twice")]
    [InlineData("size=\"48\"", "size=\"47\"", "size says 47")]
    public void Malformed_measurements_give_a_named_error(string from, string to, string reason)
    {
        var text = File.ReadAllText(TestDriverRim);
        var i = text.IndexOf(from, text.IndexOf("index=\"7\"", StringComparison.Ordinal) - 60, StringComparison.Ordinal);
        var edited = text[..i] + to + text[(i + from.Length)..];
        var e = Assert.Throws<EvidenceFormatException>(() => RimDocument.Parse(Encoding.UTF8.GetBytes(edited), "driver"));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("96.00.5E.00.01", RimKind.Firmware)]
    [InlineData("96.10.55.00.01", RimKind.Firmware)]
    [InlineData("545.00", RimKind.Driver)]
    [InlineData("550.144.03", RimKind.Driver)]
    public void Kind_follows_the_version_shape(string version, RimKind kind) => Assert.Equal(kind, RimDocument.KindOf(version));
}
