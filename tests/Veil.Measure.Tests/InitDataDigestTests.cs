using System.Security.Cryptography;
using System.Text;
using Veil.Measure.InitData;

namespace Veil.Measure.Tests;

public class InitDataDigestTests
{
    private const string Doc = "algorithm = \"sha384\"\nversion = \"0.1.0\"\n\n[data]\n\"aa.toml\" = '''\n[token_configs]\n'''\n";

    [Fact]
    public void Sha384_document_fits_snp_host_data_and_tdx_mrconfigid()
    {
        var bytes = Encoding.UTF8.GetBytes(Doc);
        var m = InitDataDigest.Compute(bytes);
        var expected = SHA384.HashData(bytes);
        Assert.Equal("sha384", m.Algorithm);
        Assert.Equal(expected, m.Digest);
        Assert.Equal(expected[..32], m.SnpHostData);
        Assert.Equal(expected, m.TdxMrConfigId);
    }

    [Fact]
    public void Sha256_is_zero_padded_for_tdx()
    {
        var bytes = Encoding.UTF8.GetBytes(Doc.Replace("sha384", "sha256", StringComparison.Ordinal));
        var m = InitDataDigest.Compute(bytes);
        Assert.Equal(SHA256.HashData(bytes), m.SnpHostData);
        Assert.Equal(SHA256.HashData(bytes).Concat(new byte[16]), m.TdxMrConfigId);
    }

    [Fact]
    public void The_exact_bytes_are_hashed_so_whitespace_changes_the_digest()
    {
        var a = InitDataDigest.Compute(Encoding.UTF8.GetBytes(Doc));
        var b = InitDataDigest.Compute(Encoding.UTF8.GetBytes(Doc + "\n"));
        Assert.NotEqual(a.Digest, b.Digest);
    }

    [Theory]
    [InlineData("version = \"0.1.0\"\n", null, "initdata.algorithm")]
    [InlineData("algorithm = \"md5\"\nversion = \"0.1.0\"\n", null, "initdata.algorithm")]
    [InlineData("algorithm = \"sha384\"\n", null, "initdata.version")]
    [InlineData("algorithm = \"sha384\"\nversion = \"0.1.0\"\n", "sha256", "--alg")]
    [InlineData("version = \"0.1.0\"\n", "sha1", "--alg")]
    [InlineData("version = \"0.1.0\"\n[data]\nalgorithm = \"sha384\"\n", null, "initdata.algorithm")]
    public void Bad_documents_and_options_name_the_field(string doc, string? alg, string field)
    {
        var e = Assert.Throws<MeasureException>(() => InitDataDigest.Compute(Encoding.UTF8.GetBytes(doc), alg));
        Assert.Equal(field, e.Field);
    }

    [Fact]
    public void Alg_option_applies_when_the_document_names_none()
    {
        var bytes = Encoding.UTF8.GetBytes("version = \"0.1.0\"\n");
        Assert.Equal(SHA512.HashData(bytes), InitDataDigest.Compute(bytes, "sha512").Digest);
    }

    [Fact]
    public void Invalid_utf8_is_rejected()
    {
        Assert.Equal("initdata", Assert.Throws<MeasureException>(() => InitDataDigest.Compute([0xff, 0xfe, 0x00])).Field);
    }
}
