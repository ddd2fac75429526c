using System.Text;
using Veil.Attestation.Tdx;
using static Veil.Attestation.Tests.Tdx.TdxVectorCases;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.Tests.Tdx;

/// <summary>
/// What one verifier keeps between quotes (the verified PCK chain with its certificates' validity periods, the
/// attestation key, the collateral's checked signatures) never stands in for a check that depends on the time or
/// on the quote's own bytes.
/// </summary>
public class TdxCacheTests
{
    /// <summary>A clock the test moves between verifications by the same verifier.</summary>
    private sealed class MovableTime(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public async Task A_cached_chain_is_checked_again_at_each_verification_time()
    {
        var c = GoTdxV4();
        var clock = new MovableTime(GoTdxTime);
        var verifier = new TdxVerifier(TdxCollateralSources.None, clock, new TdxVerifierOptions { RequireCollateral = false });
        AssertVerified(await verifier.VerifyAsync(c.Quote, null));

        // Same verifier, same chain (now cached), after the PCK leaf's notAfter (2029-09-20T13:20:31Z).
        clock.Now = DateTimeOffset.Parse("2053-07-01T01:00:00Z");
        var late = await verifier.VerifyAsync(c.Quote, null);
        var f = Assert.Single(late.Failures, x => x.Check == "pck.leaf.validity");
        Assert.Contains("2029-09-20T13:20:31Z", f.Actual, StringComparison.Ordinal);

        // And before the chain's notBefore: "not yet valid".
        clock.Now = DateTimeOffset.Parse("2001-01-01T00:00:00Z");
        var early = await verifier.VerifyAsync(c.Quote, null);
        Assert.Contains("not yet valid", Assert.Single(early.Failures, x => x.Check == "pck.leaf.validity").Actual, StringComparison.Ordinal);

        clock.Now = GoTdxTime;
        AssertVerified(await verifier.VerifyAsync(c.Quote, null));
    }

    [Fact]
    public async Task Collateral_checked_once_is_still_dated_against_each_verification_time()
    {
        var c = DcapTdx();
        var clock = new MovableTime(DcapTdxTime);
        var verifier = new TdxVerifier(TdxCollateralSources.Fixed(c.Collateral()), clock);
        AssertVerified(await verifier.VerifyAsync(c.Quote, null));
        clock.Now = DcapTdxTime.AddYears(2);
        var late = await verifier.VerifyAsync(c.Quote, null);
        Assert.Contains(late.Failures, x => x.Check == "tcb_info.next_update");
        Assert.Contains(late.Failures, x => x.Check == "pck_crl.next_update");
    }

    [Fact]
    public async Task A_byte_changed_in_a_cached_chain_is_verified_as_a_new_chain()
    {
        var c = GoTdxV4();
        var verifier = c.Verifier(requireCollateral: false);
        AssertVerified(await verifier.VerifyAsync(c.Quote, null));

        // One byte inside the PCK leaf's signature (the offset go-tdx-guest's own test corrupts): the chain bytes no
        // longer equal the cached ones, so its signatures are checked and the leaf's fails.
        var quote = (byte[])c.Quote.Clone();
        quote[0xB77] = 0x32;
        var result = await verifier.VerifyAsync(quote, null);
        Assert.Contains(result.Failures, x => x.Check == "pck.leaf.signature");

        // The original still verifies on the same verifier afterwards.
        AssertVerified(await verifier.VerifyAsync(c.Quote, null));
    }

    [Fact]
    public async Task A_changed_attestation_key_is_not_served_from_the_cache()
    {
        var c = DcapTdx();
        var verifier = c.Verifier();
        AssertVerified(await verifier.VerifyAsync(c.Quote, null));
        var parsed = TdxQuote.Parse(c.Quote);
        var keyAt = parsed.Raw.Length - parsed.PckChain.Length - 6 - parsed.QeAuthData.Length - 2 - 64 - QeReport.Length - 6 - 64;
        Assert.True(parsed.AttestationKey.Span.SequenceEqual(c.Quote.AsSpan(keyAt, 64)));
        var quote = (byte[])c.Quote.Clone();
        quote[keyAt + 63] ^= 1;
        var result = await verifier.VerifyAsync(quote, null);
        // A flipped bit takes the key off the curve (or, were it on it, breaks the signature and the QE binding).
        Assert.Contains(result.Failures, x => x.Check is "quote.attestation_key" or "quote.signature");
        Assert.Contains(result.Failures, x => x.Check == "qe_report.report_data");
    }

    [Fact]
    public void Parsing_decoded_input_keeps_the_quote_apart_from_the_callers_buffer()
    {
        var quote = DcapTdx().Quote;
        byte[] input = [.. quote, .. new byte[4096]];
        var parsed = TdxQuoteInput.Parse(input);
        Assert.Equal(70 + 4096, parsed.TrailingBytes);
        Assert.Equal(quote.Length - 70, parsed.Raw.Length);
        input[0x100] ^= 0xFF;
        Assert.Equal(quote[0x100], parsed.Raw.Span[0x100]);

        // Hex input decodes to a fresh buffer that becomes the private copy.
        var hex = TdxQuoteInput.Parse(Encoding.ASCII.GetBytes(Convert.ToHexString(quote)));
        Assert.True(hex.Raw.Span.SequenceEqual(quote.AsSpan(0, quote.Length - 70)));
    }

    private static void AssertVerified(VerificationResult r) => Assert.True(r.Verified, string.Join("; ", r.Failures));
}
