using System.Collections.Concurrent;
using Veil.Attestation.Tdx;
using static Veil.Attestation.Tests.Tdx.TdxVectorCases;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.Tests.Tdx;

/// <summary>
/// For every quote with collateral: each single-bit flip of the signed bytes (header and body), of the quote
/// signature, the attestation key, the QE report, its signature and the QE auth data is rejected, and by a
/// cryptographic check (not merely by a failure the unmodified quote already had). Flips that make the quote
/// unparseable are rejected by the parser. About 10 000 verifications per quote.
/// </summary>
public class TdxBitFlipTests
{
    [Theory]
    [MemberData(nameof(TdxVectorCases.WithCollateralNames), MemberType = typeof(TdxVectorCases))]
    public async Task Every_single_bit_flip_of_signed_bytes_and_signature_data_is_rejected(string name)
    {
        var c = ByName(name);
        var verifier = c.Verifier();
        var original = TdxQuote.Parse(c.Quote);
        var baseline = (await verifier.VerifyAsync(original, null)).Failures.Select(f => f.Check).ToHashSet();
        var raw = original.Raw.ToArray();
        var sig = original.SignedLength + 4;
        var qeReport = sig + 134;
        var regions = new (int Start, int Length, string[] Checks)[]
        {
            (0, original.SignedLength, ["quote.signature", "quote.att_key_type", "quote.qe_vendor_id"]),
            (sig, 64, ["quote.signature"]),
            (sig + 64, 64, ["quote.signature", "quote.attestation_key", "qe_report.report_data"]),
            (qeReport, QeReport.Length + 64, ["qe_report.signature"]),
            (qeReport + QeReport.Length + 64 + 2, original.QeAuthData.Length, ["qe_report.report_data"]),
        };

        var accepted = new ConcurrentBag<string>();
        var wrongReason = new ConcurrentBag<string>();
        var offsets = regions.SelectMany(r => Enumerable.Range(r.Start, r.Length).Select(o => (Offset: o, r.Checks))).ToArray();
        await Parallel.ForEachAsync(offsets, async (item, ct) =>
        {
            for (var bit = 0; bit < 8; bit++)
            {
                var flipped = (byte[])raw.Clone();
                flipped[item.Offset] ^= (byte)(1 << bit);
                TdxQuote quote;
                try
                {
                    quote = TdxQuote.Parse(flipped);
                }
                catch (EvidenceFormatException)
                {
                    continue;
                }

                var result = await verifier.VerifyAsync(quote, null, cancellationToken: ct);
                var fresh = result.Failures.Select(f => f.Check).Where(f => !baseline.Contains(f)).ToList();
                if (result.Verified || fresh.Count == 0)
                {
                    accepted.Add($"0x{item.Offset:x4} bit {bit}");
                }
                else if (!fresh.Intersect(item.Checks).Any())
                {
                    wrongReason.Add($"0x{item.Offset:x4} bit {bit}: {string.Join("; ", result.Failures)}");
                }
            }
        });

        Assert.Empty(accepted);
        Assert.Empty(wrongReason);
    }
}
