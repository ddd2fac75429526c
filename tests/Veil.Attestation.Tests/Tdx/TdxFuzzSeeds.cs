using Veil.Attestation.EventLog;
using Veil.Attestation.Tdx;
using Veil.Tests.Shared;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.Tests.Tdx;

/// <summary>Seeds and target of the TDX/event-log fuzzer (the test runs it for seconds; bench/tdx-fuzz for 10⁶ inputs).</summary>
internal static class TdxFuzzSeeds
{
    public static IReadOnlyList<byte[]> All() =>
    [
        Vectors.Bytes("dcap-qvl", "sample", "tdx_quote"),
        Vectors.Bytes("dcap-qvl", "sample", "tdx_quote_outdated"),
        Vectors.Bytes("dcap-qvl", "sample", "tdx-quote.hex"),
        Vectors.Bytes("go-tdx-guest", "testing-testdata", "tdx_prod_quote_SPR_E4.dat"),
        Vectors.Bytes("dcap-qvl", "sample", "tdx_quote_collateral.json"),
        Vectors.Bytes("go-tdx-guest", "testing-testdata", "sample_tcbInfo_response"),
        Vectors.Bytes("go-tdx-guest", "testing-testdata", "sample_qeIdentity_response"),
        Vectors.Bytes("go-tdx-guest", "testing-testdata", "pckcrl"),
        Vectors.Bytes("trustee", "deps", "eventlog", "test_data", "CCEL_data_ovmf")[..6000],
    ];

    /// <summary>Every reader of untrusted TDX bytes; each may only reject with <see cref="EvidenceFormatException"/>.</summary>
    public static void Target(byte[] input)
    {
        Try(() =>
        {
            var quote = TdxQuoteInput.Parse(input);
            // The certificates' own parsing and the SGX extension reader; signature checks are not parsing.
            var pck = PckExtensions.From(Certificates.Load(quote.PckChain.Span.TrimEnd((byte)0), "pck.chain")[0]);
            _ = TdxClaims.From(quote, pck, null, null);
        });
        Try(() =>
        {
            var c = TdxCollateral.FromJson(input);
            _ = c.TcbInfo;
            _ = c.QeIdentity;
            _ = c.PckCrl;
            _ = c.RootCaCrl;
        });
        Try(() => _ = TcbInfo.Parse(SignedJson.FromPcsBody(input, "tcbInfo", "tcb_info").Body));
        Try(() => _ = QeIdentity.Parse(SignedJson.FromPcsBody(input, "enclaveIdentity", "qe_identity").Body));
        Try(() => _ = IntelCrl.Parse(input, "crl"));
        Try(() => _ = RtmrReplay.Parse(input).ToJsonShape());
    }

    private static void Try(Action parse)
    {
        try
        {
            parse();
        }
        catch (EvidenceFormatException)
        {
            // The expected, named rejection.
        }
    }
}
