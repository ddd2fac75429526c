using System.Text.Json;
using Veil.Protocol.Binding;

namespace Veil.Protocol.Tests.Binding;

public class ReportDataBindingTests
{
    // Worked example of docs/research/kbs-protocol-and-trustee.md §4 (nonce = bytes 0..31, x = 32×00, y = 32×01).
    private const string Nonce = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    private static readonly JsonElement Key = JsonDocument.Parse(
        "{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ECDH-ES+A256KW\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"y\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE\"}").RootElement;

    [Fact]
    public void Cpu_digest_matches_the_worked_example()
    {
        var digest = ReportDataBinding.PrimaryDigest(Nonce, Key, "");
        Assert.Equal("04245bfd0073d02eba7d9456c905208a224b0b56f0955eebf028be79c9b4bf67efc9641654d06be696bd386ef2e37f32", Convert.ToHexStringLower(digest));
        Assert.Equal("BCRb/QBz0C66fZRWyQUgiiJLC1bwlV7r8Ci+ecm0v2fvyWQWVNBr5pa9OG7y438y", Convert.ToBase64String(digest));
    }

    [Fact]
    public void Cpu_report_data_is_the_digest_zero_padded_to_64()
    {
        var rd = ReportDataBinding.CpuReportData(Nonce, Key, "");
        Assert.Equal(64, rd.Length);
        Assert.Equal(ReportDataBinding.PrimaryDigest(Nonce, Key, ""), rd[..48]);
        Assert.All(rd[48..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void Gpu_nonce_is_the_first_32_bytes_of_the_device_digest()
    {
        var digest = Convert.ToHexStringLower(ReportDataBinding.DeviceDigest(Nonce, Key));
        Assert.StartsWith("58581835", digest, StringComparison.Ordinal);
        Assert.EndsWith("e210e65d", digest, StringComparison.Ordinal);
        Assert.Equal(ReportDataBinding.DeviceDigest(Nonce, Key)[..32], ReportDataBinding.GpuNonce(Nonce, Key));
    }

    [Fact]
    public void Key_member_order_does_not_matter_but_any_value_change_does()
    {
        var reordered = JsonDocument.Parse(
            "{\"y\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"alg\":\"ECDH-ES+A256KW\",\"crv\":\"P-256\",\"kty\":\"EC\"}").RootElement;
        Assert.Equal(ReportDataBinding.PrimaryDigest(Nonce, Key, ""), ReportDataBinding.PrimaryDigest(Nonce, reordered, ""));
        Assert.NotEqual(ReportDataBinding.PrimaryDigest(Nonce, Key, ""), ReportDataBinding.PrimaryDigest(Nonce, Key, "{}"));
        Assert.NotEqual(ReportDataBinding.PrimaryDigest(Nonce, Key, ""), ReportDataBinding.PrimaryDigest("BAEC" + Nonce[4..], Key, ""));
    }
}
