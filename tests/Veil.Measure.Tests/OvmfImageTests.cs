using Veil.Measure.Snp;
using Veil.Tests.Shared;

namespace Veil.Measure.Tests;

public class OvmfImageTests
{
    private static byte[] AmdSev() => Vectors.Bytes("sev-snp-measure", "tests-fixtures", "ovmf_AmdSev_suffix.bin");

    [Fact]
    public void AmdSev_build_has_footer_metadata_and_kernel_hashes()
    {
        var o = OvmfImage.Parse(AmdSev());
        Assert.Equal(OvmfImage.FourGiB - 4096, o.Gpa);
        Assert.True(o.SupportsKernelHashes);
        Assert.True(o.HasSection(OvmfSectionType.SnpKernelHashes));
        Assert.Contains(o.Sections, s => s.Type == OvmfSectionType.SnpSecrets);
        Assert.Contains(o.Sections, s => s.Type == OvmfSectionType.Cpuid);
        Assert.NotEqual(0u, o.SevEsResetEip);
    }

    [Fact]
    public void OvmfX64_build_has_no_kernel_hashes()
    {
        var o = OvmfImage.Parse(Vectors.Bytes("sev-snp-measure", "tests-fixtures", "ovmf_OvmfX64_suffix.bin"));
        Assert.False(o.SupportsKernelHashes);
        Assert.False(o.HasSection(OvmfSectionType.SnpKernelHashes));
    }

    [Fact]
    public void Image_without_footer_has_no_sev_support_and_snp_fails_with_a_named_field()
    {
        var o = OvmfImage.Parse(new byte[4096]);
        Assert.Empty(o.Sections);
        var e = Assert.Throws<MeasureException>(() => LaunchDigest.Compute(new LaunchInputs { Ovmf = o, VcpuSignature = 0x800F12 }));
        Assert.Equal("ovmf.sev_es_reset_block", e.Field);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(4095)]
    [InlineData(4097)]
    public void Sizes_that_are_not_whole_pages_are_rejected(int size)
    {
        Assert.Throws<MeasureException>(() => OvmfImage.Parse(new byte[size]));
    }

    [Fact]
    public void Corrupt_metadata_signature_is_named()
    {
        var data = AmdSev();
        var o = OvmfImage.Parse(data);
        // Find the 'ASEV' header and break it.
        var at = data.AsSpan().IndexOf("ASEV"u8);
        Assert.True(at > 0);
        data[at] = (byte)'X';
        Assert.Equal("ovmf.sev_metadata.signature", Assert.Throws<MeasureException>(() => OvmfImage.Parse(data)).Field);
        Assert.NotEmpty(o.Sections);
    }

    [Fact]
    public void Seeded_mutations_of_the_footer_never_escape_as_unexpected_exceptions()
    {
        var original = AmdSev();
        var rng = new Random(6);
        for (var n = 0; n < 20_000; n++)
        {
            var data = (byte[])original.Clone();
            var flips = rng.Next(1, 8);
            for (var f = 0; f < flips; f++)
            {
                // Mutate the last 1 KiB, where the footer table and metadata live.
                data[data.Length - 1 - rng.Next(1024)] = (byte)rng.Next(256);
            }

            try
            {
                var o = OvmfImage.Parse(data);
                LaunchDigest.Compute(new LaunchInputs { Ovmf = o, VcpuSignature = 0x800F12, Kernel = [], Vcpus = 2 });
            }
            catch (MeasureException)
            {
                // A named rejection is the expected outcome for damaged images.
            }
        }
    }

    [Fact]
    public void Random_pages_parse_or_fail_with_a_named_error()
    {
        var rng = new Random(7);
        for (var n = 0; n < 2000; n++)
        {
            var data = new byte[4096 * rng.Next(1, 3)];
            rng.NextBytes(data);
            try
            {
                OvmfImage.Parse(data);
            }
            catch (MeasureException)
            {
            }
        }
    }

    [Theory]
    [InlineData("EPYC-v4", 0x00800F12u)]
    [InlineData("EPYC-Milan", 0x00A00F11u)]
    [InlineData("EPYC-Genoa", 0x00A10F10u)]
    [InlineData("EPYC-Rome", 0x00830F10u)]
    [InlineData("EPYC-Turin", 0x00B00F00u)]
    public void Vcpu_signatures_match_the_cli_table(string name, uint sig)
    {
        Assert.Equal(sig, VcpuTypes.Lookup(name));
    }

    [Fact]
    public void Unknown_vcpu_type_names_the_option()
    {
        Assert.Equal("--vcpu-type", Assert.Throws<MeasureException>(() => VcpuTypes.Lookup("EPYC-Zen9")).Field);
    }

    [Fact]
    public void Kernel_inputs_change_the_digest_and_initrd_without_kernel_is_refused()
    {
        var o = OvmfImage.Parse(AmdSev());
        var a = LaunchDigest.Compute(new LaunchInputs { Ovmf = o, VcpuSignature = 0x800F12, Kernel = [1, 2, 3], Append = "x" });
        var b = LaunchDigest.Compute(new LaunchInputs { Ovmf = o, VcpuSignature = 0x800F12, Kernel = [1, 2, 3], Append = "y" });
        Assert.NotEqual(a, b);
        Assert.Equal("--kernel", Assert.Throws<MeasureException>(() => LaunchDigest.Compute(new LaunchInputs { Ovmf = o, Initrd = [] })).Field);
        Assert.Equal("--vcpus", Assert.Throws<MeasureException>(() => LaunchDigest.Compute(new LaunchInputs { Ovmf = o, Vcpus = 0 })).Field);
        Assert.Equal("--ovmf-hash", Assert.Throws<MeasureException>(() => LaunchDigest.Compute(new LaunchInputs { Ovmf = o, OvmfHash = new byte[47] })).Field);
    }
}
