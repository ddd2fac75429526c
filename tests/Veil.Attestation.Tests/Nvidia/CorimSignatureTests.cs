using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Veil.Attestation.Nvidia;
using Veil.Attestation.Nvidia.Rim;
using Veil.Tests.Shared;
using static Veil.Attestation.Tests.Nvidia.NvidiaVectorCases;

namespace Veil.Attestation.Tests.Nvidia;

/// <summary>
/// The COSE_Sign1 signature and signing chain of CoRIMs. No NVIDIA-signed GPU CoRIM is in the shared vectors,
/// so these sign with a P-384 test PKI shaped like NVIDIA's (root → CA → signer) and, where the chain must pass,
/// stand it in for the pinned root; with the pinned NVIDIA root the same CoRIM must fail at the root.
/// </summary>
public sealed class CorimSignatureTests : IDisposable
{
    private readonly TestPki pki = new();
    private readonly RimDocument vbios = RimDocument.Parse(File.ReadAllBytes(TestVbiosRim), "vbios");
    private readonly RimDocument driver = RimDocument.Parse(File.ReadAllBytes(TestDriverRim), "driver");

    public void Dispose() => pki.Dispose();

    private static List<VerificationFailure> Check(byte[] corim, X509Certificate2? root, DateTimeOffset? at = null)
    {
        var none = NvidiaCollateralSources.None();
        var failures = new List<VerificationFailure>();
        new RimCheck(none, new NvidiaChain(), new OcspCheck(none), root).CheckDocument(RimDocument.Parse(corim, "c"), "rim", at ?? RimTime, failures);
        return failures;
    }

    private byte[] Signed(CorimBuilder.SignOptions? options = null, byte[]? payload = null) =>
        CorimBuilder.Sign(payload ?? CorimBuilder.CorimMap("NV_VBIOS_96.00.5E.00.01", [CorimBuilder.Comid("v-96.00.5E.00.01", "GH100", CorimBuilder.FromSwid(vbios))]),
            pki.SignerKey, pki.Chain, options);

    [Fact]
    public void Corim_signed_by_a_chain_to_the_trusted_root_passes_and_to_the_pinned_nvidia_root_fails_at_the_root()
    {
        var corim = Signed();
        Assert.Empty(Check(corim, pki.Root));
        var f = Assert.Single(Check(corim, root: null));
        Assert.Equal("rim.chain.root", f.Check);
        Assert.Contains("12977b5115acb0381179279fffeb5a8c4d264971ebb32298023a465fa41df5d1", f.Expected, StringComparison.Ordinal);
        Assert.Contains("Test CoRIM Root CA", f.Actual, StringComparison.Ordinal);
    }

    [Fact]
    public void Chain_in_the_unprotected_header_and_a_matching_x5t_both_verify()
    {
        Assert.Empty(Check(Signed(new(ChainProtected: false)), pki.Root));
        Assert.Empty(Check(Signed(new(X5t: SHA384.HashData(pki.Leaf.RawData))), pki.Root));
    }

    public static TheoryData<string, string> BadSignatures() => new()
    {
        { "alg", "alg -7 in the protected header (expected ES384, -35)" },
        { "no-chain", "no x5chain (label 33)" },
        { "x5t", "x5t thumbprint does not match" },
        { "payload", "signature does not verify" },
        { "signature", "signature does not verify" },
        { "wrong-key", "signature does not verify" },
        { "unsigned", "unsigned CoRIM" },
    };

    [Theory]
    [MemberData(nameof(BadSignatures))]
    public void Bad_signatures_are_named_failures(string which, string problem)
    {
        byte[] corim;
        switch (which)
        {
            case "alg":
                corim = Signed(new(Alg: -7));
                break;
            case "no-chain":
                corim = Signed(new(NoChain: true));
                break;
            case "x5t":
                corim = Signed(new(X5t: new byte[48]));
                break;
            case "payload":
                // One digest byte changed after signing: the CoRIM still parses, the signature no longer covers it.
                corim = Signed();
                var digest = vbios.Measurements.First(m => m.Active).Alternatives[0].ToArray();
                var at = corim.AsSpan().IndexOf(digest);
                Assert.True(at > 0);
                corim[at] ^= 1;
                break;
            case "signature":
                corim = Signed();
                corim[^1] ^= 0x80;
                break;
            case "wrong-key":
                using (var other = ECDsa.Create(ECCurve.NamedCurves.nistP384))
                {
                    corim = CorimBuilder.Sign(CorimBuilder.CorimMap("x_96.00.5E.00.01", [CorimBuilder.Comid("t", "GH100", CorimBuilder.FromSwid(vbios))]), other, pki.Chain);
                }

                break;
            default:
                corim = CorimBuilder.CorimMap("x_96.00.5E.00.01", [CorimBuilder.Comid("t", "GH100", CorimBuilder.FromSwid(vbios))]);
                break;
        }

        var failures = Check(corim, pki.Root);
        var f = Assert.Single(failures, f => f.Check == "rim.signature");
        Assert.Contains(problem, f.Actual, StringComparison.Ordinal);
        Assert.Equal("valid COSE_Sign1 signature (ES384, x5chain)", f.Expected);
        if (which is "unsigned" or "no-chain")
        {
            Assert.Contains(failures, f => f.Check == "rim.chain" && f.Actual == "none supplied");
        }
        else
        {
            Assert.Equal(["rim.signature"], failures.Select(f => f.Check));
        }
    }

    [Fact]
    public void X5chain_in_both_headers_is_refused_as_ambiguous()
    {
        var e = Assert.Throws<EvidenceFormatException>(() => RimDocument.Parse(Signed(new(ChainInBoth: true)), "c"));
        Assert.Equal("c.cose.unprotected[33]", e.Field);
    }

    [Fact]
    public void Rim_validity_window_is_checked_at_the_verification_time()
    {
        var payload = CorimBuilder.CorimMap("x_96.00.5E.00.01", [CorimBuilder.Comid("t", "GH100", CorimBuilder.FromSwid(vbios))],
            (DateTimeOffset.Parse("2024-01-01T00:00:00Z"), DateTimeOffset.Parse("2025-01-01T00:00:00Z")));
        var corim = Signed(payload: payload);
        Assert.Equal(DateTimeOffset.Parse("2025-01-01T00:00:00Z"), RimDocument.Parse(corim, "c").NotAfter);
        Assert.Empty(Check(corim, pki.Root, RimTime));
        var f = Assert.Single(Check(corim, pki.Root, DateTimeOffset.Parse("2026-01-01T00:00:00Z")));
        Assert.Equal("rim.validity", f.Check);
        Assert.Equal("CoRIM expired: valid until 2025-01-01 00:00:00Z, now 2026-01-01 00:00:00Z", f.Actual);
        Assert.Equal("CoRIM not yet valid: valid from 2024-01-01 00:00:00Z, now 2023-06-01 00:00:00Z",
            Assert.Single(Check(corim, pki.Root, DateTimeOffset.Parse("2023-06-01T00:00:00Z")), x => x.Check == "rim.validity").Actual);
    }

    [Fact]
    public async Task History_report_verifies_end_to_end_with_both_rims_as_signed_corims()
    {
        var verifier = new NvidiaVerifier(
            NvidiaCollateralSources.Files([new("driver.corim", CorimBuilder.SignedFromSwid(driver, pki)), new("vbios.corim", CorimBuilder.SignedFromSwid(vbios, pki))], []),
            new FixedTimeProvider(RimTime), pki.Root);
        var r = await verifier.VerifyAsync(File.ReadAllBytes(HistoryReport), Chain(HistoryChain), Hex.Parse(TestNoGpuNonce, "nonce"));
        Assert.True(r.Combined.Verified, Failures(r));
        Assert.Equal(true, r.Combined.Claims["nvidia.measurements_match"]);
        Assert.Empty((IEnumerable<string>)r.Combined.Claims["nvidia.mismatched_indices"]);
    }

    [Fact]
    public async Task A_corim_with_one_golden_value_changed_and_re_signed_names_exactly_that_index()
    {
        // Some golden values of this RIM are all zeros (unused indices), so the edit writes 0x11 bytes.
        var target = vbios.Measurements.First(m => m.Active && m.Alternatives.Count == 1 && m.Alternatives[0].Span.ContainsAnyExcept((byte)0));
        var edited = CorimBuilder.SignedFromSwid(vbios, pki, values => values.Select(v =>
            v.Mkey == (ulong)target.Index + 1 ? v with { Sha384 = [Enumerable.Repeat((byte)0x11, 48).ToArray()] } : v));
        var verifier = new NvidiaVerifier(
            NvidiaCollateralSources.Files([new("driver.corim", CorimBuilder.SignedFromSwid(driver, pki)), new("vbios.corim", edited)], []),
            new FixedTimeProvider(RimTime), pki.Root);
        var r = await verifier.VerifyAsync(File.ReadAllBytes(HistoryReport), Chain(HistoryChain), Hex.Parse(TestNoGpuNonce, "nonce"));
        Assert.False(r.Combined.Verified);
        var f = Assert.Single(r.Combined.Failures);
        Assert.Equal($"measurement[{target.Index}]", f.Check);
        Assert.Equal("vbios RIM: " + string.Concat(Enumerable.Repeat("11", 48)), f.Expected);
        Assert.Equal([target.Index.ToString(System.Globalization.CultureInfo.InvariantCulture)], (IEnumerable<string>)r.Combined.Claims["nvidia.mismatched_indices"]);
    }

    [Fact]
    public async Task A_corim_for_another_version_is_a_version_failure_like_a_swid_rim()
    {
        var other = CorimBuilder.Sign(CorimBuilder.CorimMap("NV_GPU_VBIOS_96.00.9F.00.01", [CorimBuilder.Comid("t", "GH100", CorimBuilder.FromSwid(vbios))]), pki.SignerKey, pki.Chain);
        var verifier = new NvidiaVerifier(NvidiaCollateralSources.Files([new("driver.corim", CorimBuilder.SignedFromSwid(driver, pki)), new("o.corim", other)], []),
            new FixedTimeProvider(RimTime), pki.Root);
        var r = await verifier.VerifyAsync(File.ReadAllBytes(HistoryReport), Chain(HistoryChain), Hex.Parse(TestNoGpuNonce, "nonce"));
        var f = Assert.Single(r.Combined.Failures, f => f.Check == "rim.vbios.version");
        Assert.Equal("96.00.5E.00.01", f.Expected);
        Assert.Equal("96.00.9F.00.01", f.Actual);
    }

    [Fact]
    public void Every_truncation_of_a_signed_corim_is_a_typed_error()
    {
        var corim = Signed();
        for (var n = 0; n < corim.Length; n++)
        {
            var cut = corim[..n];
            var e = Record.Exception(() => RimDocument.Parse(cut, "cut"));
            Assert.True(e is EvidenceFormatException, $"truncated to {n} bytes: {e?.GetType().Name ?? "parsed"}");
        }
    }

    /// <summary>
    /// One bit flipped in every byte (the bit rotates with the offset): each result is refused by the parser with a
    /// typed error or, if it still parses, by the signature or chain check — never accepted as it stands.
    /// </summary>
    [Fact]
    public void Every_bit_flip_of_a_signed_corim_is_refused_by_the_parser_or_the_signature_check()
    {
        var corim = Signed();
        Assert.Empty(Check(corim, pki.Root));
        var accepted = new List<int>();
        var parseRejected = 0;
        for (var offset = 0; offset < corim.Length; offset++)
        {
            var flipped = (byte[])corim.Clone();
            flipped[offset] ^= (byte)(1 << (offset % 8));
            try
            {
                if (Check(flipped, pki.Root).Count == 0)
                {
                    accepted.Add(offset);
                }
            }
            catch (EvidenceFormatException)
            {
                parseRejected++;
            }
        }

        Assert.Empty(accepted);
        Assert.True(parseRejected < corim.Length / 2, $"most flips land in digests and signature and must reach the signature check ({parseRejected} of {corim.Length} stopped at the parser)");
    }

    [Fact]
    public void Fuzzed_corims_only_ever_give_named_errors()
    {
        var report = new MutationFuzzer([Signed(), CorimBuilder.SignedFromSwid(driver, pki), File.ReadAllBytes(Vectors.Path("trustee", "rvps", "src", "extractors", "corim", "unsigned-example-corim.cbor"))], seed: 501).Run(
            NvidiaFuzz.CorimTarget,
            e => e is EvidenceFormatException,
            maxInputs: 100_000,
            budget: TimeSpan.FromSeconds(3));
        Assert.True(report.Inputs > 500, $"only {report.Inputs} inputs in the budget");
        Assert.True(report.CrashCount == 0, string.Join("\n", report.Crashes.Select(c => $"{c.Exception.GetType().Name}: {c.Exception.Message}")));
    }
}
