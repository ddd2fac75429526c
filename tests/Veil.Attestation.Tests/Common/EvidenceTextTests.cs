using System.Text;
using Veil.Attestation;
using Veil.Attestation.Nvidia;

namespace Veil.Attestation.Tests.Common;

/// <summary>The one-pass hex/base64 decoder agrees with the framework's on valid text and refuses what it must.</summary>
public sealed class EvidenceTextTests
{
    [Fact]
    public void Random_data_round_trips_through_hex_and_every_base64_form()
    {
        var rng = new Random(16);
        for (var i = 0; i < 300; i++)
        {
            var data = new byte[rng.Next(1, 3000)];
            rng.NextBytes(data);
            Assert.Equal(data, EvidenceText.DecodeHex(Encoding.ASCII.GetBytes(Convert.ToHexString(data)), "x"));
            Assert.Equal(data, EvidenceText.DecodeHex(Encoding.ASCII.GetBytes("0x" + Convert.ToHexStringLower(data)), "x"));
            var std = Convert.ToBase64String(data);
            var url = std.TrimEnd('=').Replace('+', '-').Replace('/', '_');
            var wrapped = Convert.ToBase64String(data, Base64FormattingOptions.InsertLineBreaks);
            foreach (var text in new[] { std, url, wrapped, " " + std + "\n" })
            {
                Assert.Equal(data, EvidenceText.DecodeBase64OrNull(Encoding.ASCII.GetBytes(text)));
            }
        }
    }

    [Theory]
    [InlineData("QQ*=")]
    [InlineData("A")]
    [InlineData("QQ=")]
    [InlineData("QQ==QQ==")]
    [InlineData("QQ===")]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("Q\u00e9Q=")]
    public void Not_base64_is_refused(string text)
    {
        Assert.False(EvidenceText.TryDecodeBase64(Encoding.UTF8.GetBytes(text), out _, out _));
    }

    [Fact]
    public void Odd_or_non_hex_text_is_refused_naming_the_field()
    {
        Assert.Equal("quote", Assert.Throws<EvidenceFormatException>(() => EvidenceText.DecodeHex("abc"u8, "quote")).Field);
        Assert.Contains("offset 2", Assert.Throws<EvidenceFormatException>(() => EvidenceText.DecodeHex("abzz"u8, "quote")).Message, StringComparison.Ordinal);
        Assert.False(EvidenceText.IsHex("0x"u8));
        Assert.False(EvidenceText.IsHex("12g4"u8));
        Assert.True(EvidenceText.IsHex("0X12aF"u8));
    }

    [Fact]
    public void Megabytes_of_text_decode_to_one_buffer_of_three_quarters_its_size()
    {
        var text = new byte[8 << 20];
        text.AsSpan().Fill((byte)'y');
        Assert.True(EvidenceText.TryDecodeBase64(text, out var buffer, out var length));
        Assert.Equal(6 << 20, length);
        Assert.True(buffer.Length <= length + 3);
        var before = GC.GetAllocatedBytesForCurrentThread();
        EvidenceText.TryDecodeBase64(text, out _, out _);
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 6 << 20, (6 << 20) + 4096);
    }

    [Fact]
    public void Gpu_evidence_with_json_escapes_in_its_base64_decodes_as_without()
    {
        var raw = NvidiaEvidence.Parse(File.ReadAllBytes(Veil.Attestation.Tests.Nvidia.NvidiaVectorCases.HistoryReport)).Devices[0].Report.Raw.ToArray();
        var b64 = Convert.ToBase64String(raw);
        var plain = NvidiaEvidence.Parse(Encoding.UTF8.GetBytes($"[{{\"evidence\":\"{b64}\"}}]")).Devices[0].Report.Raw.ToArray();
        var escaped = NvidiaEvidence.Parse(Encoding.UTF8.GetBytes($"[{{\"evidence\":\"{b64.Replace("/", "\\/", StringComparison.Ordinal)}\"}}]")).Devices[0].Report.Raw.ToArray();
        Assert.Equal(raw, plain);
        Assert.Equal(raw, escaped);
    }
}
