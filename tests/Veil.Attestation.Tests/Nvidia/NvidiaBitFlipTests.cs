using System.Collections.Concurrent;
using Veil.Attestation.Nvidia;
using static Veil.Attestation.Tests.Nvidia.NvidiaVectorCases;

namespace Veil.Attestation.Tests.Nvidia;

/// <summary>
/// A bit flip in every byte of a real report's signed bytes (request ‖ response without signature) and of the
/// signature itself is rejected: by the parser when it breaks the structure, otherwise by verification with
/// the signature check named. The flipped bit rotates with the offset so every bit position is hit across the
/// report while the test stays at one ECDSA verification per byte (all 8 bits of every byte: bench/gpu-fuzz).
/// </summary>
public sealed class NvidiaBitFlipTests
{
    [Theory]
    [InlineData("history")]
    [InlineData("blackwell")]
    public async Task Every_single_bit_flip_of_signed_bytes_and_signature_is_rejected(string which)
    {
        var (evidencePath, chainPath, nonce) = which == "history"
            ? (HistoryReport, HistoryChain, TestNoGpuNonce)
            : (Gpu("blackwellAttestationReport.txt"), Gpu("blackwellCertChain.txt"), SdkNonce);
        var original = NvidiaEvidence.Parse(File.ReadAllBytes(evidencePath), Chain(chainPath)).Devices[0];
        var verifier = Verifier(Today);
        ReadOnlyMemory<byte>? expected = Hex.Parse(nonce, "nonce");
        Assert.True((await verifier.VerifyDeviceAsync(original, expected)).Verified);

        var raw = original.Report.Raw.ToArray();
        var accepted = new ConcurrentBag<string>();
        var wrongReason = new ConcurrentBag<string>();
        var parseRejected = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, raw.Length), async (offset, ct) =>
        {
            foreach (var bit in Bits(offset))
            {
                var flipped = (byte[])raw.Clone();
                flipped[offset] ^= (byte)(1 << bit);
                SpdmMeasurementReport report;
                try
                {
                    report = SpdmMeasurementReport.Parse(flipped);
                }
                catch (EvidenceFormatException)
                {
                    Interlocked.Increment(ref parseRejected);
                    continue;
                }

                var result = await verifier.VerifyDeviceAsync(original with { Report = report }, expected, ct);
                if (result.Verified)
                {
                    accepted.Add($"{offset} bit {bit}");
                }
                else if (!result.Failures.Any(f => f.Check == "report.signature"))
                {
                    wrongReason.Add($"{offset} bit {bit}: {string.Join("; ", result.Failures)}");
                }
            }
        });

        Assert.Empty(accepted);
        Assert.Empty(wrongReason);
        var flips = Enumerable.Range(0, raw.Length).Sum(o => Bits(o).Length);
        Assert.True(parseRejected < flips / 4, $"almost every flip should reach the signature check ({parseRejected} of {flips} stopped at the parser)");
    }

    private static int[] Bits(int offset) =>
        Environment.GetEnvironmentVariable("VEIL_ALL_BITS") == "1" ? [0, 1, 2, 3, 4, 5, 6, 7] : [offset % 8];
}
