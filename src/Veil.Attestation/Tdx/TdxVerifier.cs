using System.Security.Cryptography;
using Veil.Attestation.EventLog;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;
using Veil.Abi.Tee;

namespace Veil.Attestation.Tdx;

/// <summary>Choices a caller makes explicitly; the defaults fail closed.</summary>
public sealed record TdxVerifierOptions
{
    /// <summary>
    /// When false, a quote with no collateral is checked for signatures and the PCK chain only (as go-tdx-guest's
    /// "verify without collateral"): CRLs and TCB status are then not evaluated and <c>tdx.tcb_status</c> is absent.
    /// </summary>
    public bool RequireCollateral { get; init; } = true;
}

/// <summary>
/// Verifies an Intel TDX DCAP quote (v4/v5) offline, in the order of docs/research/evidence-formats.md §A2.7
/// (dcap-qvl verify.rs, go-tdx-guest verify.go, Intel QVL): header; PCK chain to the embedded Intel SGX Root
/// CA; QE report signed by the PCK key; QE report data = SHA-256(attestation key ‖ QE auth data) ‖ zeros;
/// quote signed by the attestation key; collateral (signatures over the exact JSON, issuer chains, CRLs,
/// freshness); TCB grading of platform, TDX module and QE; expected report data; RTMRs against a replayed
/// event log. Every failed check is named; claims come with the result either way.
/// </summary>
public sealed class TdxVerifier
{
    /// <summary>Intel's Quoting Enclave vendor id.</summary>
    public static readonly byte[] IntelQeVendorId = Convert.FromHexString("939a7233f79c4ca9940a0db3957f0607");

    private readonly ITdxCollateralSource collateral;
    private readonly TimeProvider time;
    private readonly TdxVerifierOptions options;
    private readonly TdxKeyCache keys = new();

    public TdxVerifier(ITdxCollateralSource collateral, TimeProvider time, TdxVerifierOptions? options = null)
    {
        this.collateral = collateral;
        this.time = time;
        this.options = options ?? new TdxVerifierOptions();
    }

    /// <summary>Decodes (binary, hex or base64; see <see cref="TdxQuoteInput"/>), parses and verifies.</summary>
    /// <exception cref="EvidenceFormatException">The quote or the event log cannot be parsed.</exception>
    public Task<VerificationResult> VerifyAsync(ReadOnlyMemory<byte> quote, ReadOnlyMemory<byte>? expectedReportData, RtmrReplay? eventLog = null, CancellationToken cancellationToken = default) =>
        VerifyAsync(TdxQuoteInput.Parse(quote.Span), expectedReportData, eventLog, cancellationToken);

    public Task<VerificationResult> VerifyAsync(TdxQuote quote, ReadOnlyMemory<byte>? expectedReportData, RtmrReplay? eventLog = null, CancellationToken cancellationToken = default)
    {
        if (expectedReportData is { Length: not 64 } bad)
        {
            throw new ArgumentException($"expected report data must be 64 bytes, got {bad.Length}", nameof(expectedReportData));
        }

        var now = time.GetUtcNow();
        var failures = new List<VerificationFailure>();
        var pck = CheckQuote(quote, expectedReportData, eventLog, now, failures);
        if (pck.Extensions is not { } ext)
        {
            return Task.FromResult(Result(quote, pck, null, eventLog, failures));
        }

        // Collateral sources usually answer from memory; only a fetch needs the asynchronous path.
        var request = new TdxCollateralRequest(ext.Fmspc, pck.CaKind);
        var pending = collateral.GetAsync(request, cancellationToken);
        return pending.IsCompletedSuccessfully
            ? Task.FromResult(WithCollateral(quote, pck, ext, request, pending.Result, eventLog, now, failures))
            : Fetched(pending, quote, pck, ext, request, eventLog, now, failures);
    }

    private async Task<VerificationResult> Fetched(ValueTask<TdxCollateral?> pending, TdxQuote quote, PckChain pck, PckExtensions ext, TdxCollateralRequest request, RtmrReplay? eventLog, DateTimeOffset now, List<VerificationFailure> failures) =>
        WithCollateral(quote, pck, ext, request, await pending.ConfigureAwait(false), eventLog, now, failures);

    /// <summary>Everything that needs no collateral: vendor, PCK chain and validity, signatures, report data, RTMRs.</summary>
    private PckChain CheckQuote(TdxQuote quote, ReadOnlyMemory<byte>? expectedReportData, RtmrReplay? eventLog, DateTimeOffset now, List<VerificationFailure> failures)
    {
        if (!quote.QeVendorId.Span.SequenceEqual(IntelQeVendorId))
        {
            failures.Add(new("quote.qe_vendor_id", Hex.Lower(IntelQeVendorId), Hex.Lower(quote.QeVendorId.Span)));
        }

        var pck = keys.Chain(quote.PckChain);
        failures.AddRange(pck.Failures);
        foreach (var (name, period) in pck.Validity)
        {
            if (period.Check(now) is { } why)
            {
                failures.Add(new($"{name}.validity", "valid at the verification time", why));
            }
        }

        if (quote.AttestationKeyType != TdxQuote.AttestationKeyEcdsaP256)
        {
            failures.Add(new("quote.att_key_type", "2 (ECDSA-256 with P-256)", quote.AttestationKeyType.ToString()));
        }
        else
        {
            CheckSignatures(quote, pck, failures);
        }

        if (expectedReportData is { } expected && !expected.Span.SequenceEqual(quote.Body.ReportData.Span))
        {
            failures.Add(new("quote.report_data", Hex.Lower(expected.Span), Hex.Lower(quote.Body.ReportData.Span)));
        }

        if (eventLog is not null)
        {
            failures.AddRange(eventLog.Compare(quote.Body.Rtmrs));
        }

        return pck;
    }

    private VerificationResult WithCollateral(TdxQuote quote, PckChain pck, PckExtensions ext, TdxCollateralRequest request, TdxCollateral? found, RtmrReplay? eventLog, DateTimeOffset now, List<VerificationFailure> failures)
    {
        TcbEvaluationResult? tcb = null;
        if (found is null)
        {
            if (options.RequireCollateral)
            {
                failures.Add(new("collateral", $"TCB Info, QE Identity and CRLs for FMSPC {request.FmspcHex}", "none supplied or found"));
            }
        }
        else
        {
            var checks = CollateralChecks.For(found);
            checks.Check(pck, now, failures);
            if (checks.TcbInfo is { } tcbInfo && checks.QeIdentity is { } qeIdentity)
            {
                tcb = TcbEvaluation.Evaluate(quote, ext, tcbInfo, qeIdentity, failures);
            }
        }

        return Result(quote, pck, tcb, eventLog, failures);
    }

    private static VerificationResult Result(TdxQuote quote, PckChain pck, TcbEvaluationResult? tcb, RtmrReplay? eventLog, List<VerificationFailure> failures) =>
        new(TeeNames.Tdx, TdxClaims.From(quote, pck.Extensions, tcb, eventLog), failures);

    /// <summary>SHA-256(attestation key ‖ QE auth data): the first half of the QE report data.</summary>
    private static void QeReportBinding(TdxQuote quote, Span<byte> destination)
    {
        // Key and auth data are adjacent in the signature data except for the auth data's 2-byte length.
        var length = 64 + quote.QeAuthData.Length;
        byte[]? rented = null;
        var buffer = length <= 1024 ? stackalloc byte[1024] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(length));
        quote.AttestationKey.Span.CopyTo(buffer);
        quote.QeAuthData.Span.CopyTo(buffer[64..]);
        SHA256.HashData(buffer[..length], destination);
        if (rented is not null)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private void CheckSignatures(TdxQuote quote, PckChain pck, List<VerificationFailure> failures)
    {
        if (pck.LeafKey is { } pckKey && !pckKey.Verify(quote.QeReport.Raw.Span, quote.QeReportSignature.Span))
        {
            failures.Add(new("qe_report.signature", "valid ECDSA P-256 signature by the PCK key", "invalid"));
        }

        Span<byte> binding = stackalloc byte[64];
        binding.Clear();
        QeReportBinding(quote, binding[..32]);

        if (!binding.SequenceEqual(quote.QeReport.ReportData.Span))
        {
            failures.Add(new("qe_report.report_data", $"{Hex.Lower(binding)} (SHA-256(attestation key ‖ QE auth data) ‖ zeros)", Hex.Lower(quote.QeReport.ReportData.Span)));
        }

        var attestationKey = keys.AttestationKey(quote.AttestationKey);
        if (attestationKey is null)
        {
            failures.Add(new("quote.attestation_key", "a point on P-256", "invalid public key"));
        }
        else if (!attestationKey.Verify(quote.SignedBytes, quote.Signature.Span))
        {
            failures.Add(new("quote.signature", "valid ECDSA P-256 signature by the attestation key over header and body", "invalid"));
        }
    }
}
