using Veil.Attestation.Tdx;
using Veil.Tests.Shared;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.Tests.Tdx;

/// <summary>A real TDX quote with the collateral and pinned time its MANIFEST gives.</summary>
internal sealed record TdxCase(string Name, byte[] Quote, Func<TdxCollateral?> Collateral, DateTimeOffset At)
{
    public TdxVerifier Verifier(DateTimeOffset? at = null, bool requireCollateral = true) =>
        new(requireCollateral ? TdxCollateralSources.Fixed(Collateral()) : TdxCollateralSources.None, new FixedTimeProvider(at ?? At), new TdxVerifierOptions { RequireCollateral = requireCollateral });

    public Task<VerificationResult> VerifyAsync(byte[]? quote = null, DateTimeOffset? at = null, bool requireCollateral = true) =>
        Verifier(at, requireCollateral).VerifyAsync(quote ?? Quote, null);

    public override string ToString() => Name;
}

internal static class TdxVectorCases
{
    public static readonly DateTimeOffset GoTdxTime = DateTimeOffset.Parse("2023-07-01T01:00:00Z");
    public static readonly DateTimeOffset GoTdxV5Time = DateTimeOffset.Parse("2026-02-03T01:00:00Z");
    public static readonly DateTimeOffset DcapTdxTime = DateTimeOffset.Parse("2025-07-19T10:00:34Z");
    public static readonly DateTimeOffset DcapOutdatedTime = DateTimeOffset.Parse("2026-03-20T10:41:14Z");

    public static TdxCollateral DcapCollateral(string file) => TdxCollateral.FromJson(Vectors.Bytes("dcap-qvl", "sample", file));

    public static TdxCase DcapTdx() => new("dcap-qvl tdx_quote v4", Vectors.Bytes("dcap-qvl", "sample", "tdx_quote"), () => DcapCollateral("tdx_quote_collateral.json"), DcapTdxTime);

    public static TdxCase DcapOutdated() => new("dcap-qvl tdx_quote_outdated v5", Vectors.Bytes("dcap-qvl", "sample", "tdx_quote_outdated"), () => DcapCollateral("tdx_quote_outdated_collateral.json"), DcapOutdatedTime);

    public static TdxCase GoTdxV4() => new("go-tdx-guest SPR v4", Vectors.Bytes("go-tdx-guest", "testing-testdata", "tdx_prod_quote_SPR_E4.dat"), () => TdxDirectoryCollateral.Load(GoTdxDirectory()), GoTdxTime);

    public static TdxCase GoTdxV5() => new("go-tdx-guest v5", Vectors.Bytes("go-tdx-guest", "testing-testdata", "quote_v5_sample.dat"), () => null, GoTdxV5Time);

    public static TdxCase GoTdxCos() => new("go-tdx-guest COS-113 v4 (8000-byte buffer)", Vectors.Bytes("go-tdx-guest", "testing-testdata", "ccel", "cos-113-tdx-quote.dat"), () => null, DateTimeOffset.Parse("2025-01-01T00:00:00Z"));

    public static IEnumerable<TdxCase> WithCollateral()
    {
        yield return DcapTdx();
        yield return DcapOutdated();
        yield return GoTdxV4();
    }

    public static TheoryData<string> WithCollateralNames() => new(WithCollateral().Select(c => c.Name));

    public static TdxCase ByName(string name) => WithCollateral().Single(c => c.Name == name);

    /// <summary>
    /// The go-tdx-guest collateral laid out as an offline directory of PCS bodies (the issue's layout), in a
    /// temporary folder made once per test run: vectors are read in place, this only renames them.
    /// </summary>
    public static string GoTdxDirectory(string tcbInfo = "sample_tcbInfo_response")
    {
        var dir = Path.Combine(Path.GetTempPath(), $"veil-tdx-gotdx-{tcbInfo}-{Environment.ProcessId}");
        if (!File.Exists(Path.Combine(dir, "root_ca_crl.der")))
        {
            Directory.CreateDirectory(dir);
            Copy(dir, "tcb_info.json", "testing-testdata", tcbInfo);
            Copy(dir, "qe_identity.json", "testing-testdata", "sample_qeIdentity_response");
            Copy(dir, "pck_crl.der", "testing-testdata", "pckcrl");
            Copy(dir, "tcb_info_issuer_chain.pem", "derived", "tcbInfo_issuer_chain.pem");
            Copy(dir, "qe_identity_issuer_chain.pem", "derived", "qeIdentity_issuer_chain.pem");
            Copy(dir, "pck_crl_issuer_chain.pem", "derived", "pckCrl_issuer_chain.pem");
            Copy(dir, "root_ca_crl.der", "testing-testdata", "rootcrl.der");
        }

        return dir;
    }

    private static void Copy(string dir, string name, params string[] vector) =>
        File.WriteAllBytes(Path.Combine(dir, name), Vectors.Bytes(["go-tdx-guest", .. vector]));

    public static void AssertVerified(VerificationResult result) =>
        Assert.True(result.Verified, "expected verified, failures: " + string.Join("; ", result.Failures));

    public static VerificationFailure AssertFailed(VerificationResult result, string check)
    {
        Assert.False(result.Verified);
        return result.Failures.FirstOrDefault(f => f.Check == check)
            ?? throw new Xunit.Sdk.XunitException($"expected failure '{check}', got: {string.Join("; ", result.Failures)}");
    }

    /// <summary>Exactly these checks failed, nothing else.</summary>
    public static void AssertOnlyFailed(VerificationResult result, params string[] checks) =>
        Assert.Equal(checks.Order(StringComparer.Ordinal), result.Failures.Select(f => f.Check).Distinct().Order(StringComparer.Ordinal));
}
