using Veil.Attestation.Tdx;
using Veil.Tests.Shared;
using static Veil.Attestation.Tests.Tdx.TdxVectorCases;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.Tests.Tdx;

/// <summary>The Intel PCS/PCCS fetcher against a 127.0.0.1 server serving the go-tdx-guest PCS bodies and headers.</summary>
public sealed class PcsCollateralSourceTests : IDisposable
{
    private readonly string cache = Directory.CreateTempSubdirectory("veil-pcs-").FullName;

    public void Dispose() => Directory.Delete(cache, recursive: true);

    private static Dictionary<string, string> Chain(string header, string file) =>
        new() { [header] = Uri.EscapeDataString(Vectors.Text("go-tdx-guest", "derived", file)) };

    private static LoopbackHttpServer Pcs(string prefix = "")
    {
        var server = new LoopbackHttpServer();
        server.Add($"{prefix}/tdx/certification/v4/tcb?fmspc=50806F000000", Vectors.Bytes("go-tdx-guest", "testing-testdata", "sample_tcbInfo_response"), Chain("TCB-Info-Issuer-Chain", "tcbInfo_issuer_chain.pem"));
        server.Add($"{prefix}/tdx/certification/v4/qe/identity", Vectors.Bytes("go-tdx-guest", "testing-testdata", "sample_qeIdentity_response"), Chain("SGX-Enclave-Identity-Issuer-Chain", "qeIdentity_issuer_chain.pem"));
        server.Add($"{prefix}/sgx/certification/v4/pckcrl?ca=platform&encoding=der", Vectors.Bytes("go-tdx-guest", "testing-testdata", "pckcrl"), Chain("SGX-PCK-CRL-Issuer-Chain", "pckCrl_issuer_chain.pem"));
        server.Add($"{prefix}/sgx/certification/v4/rootcacrl", Vectors.Bytes("go-tdx-guest", "testing-testdata", "rootcrl.der"));
        return server;
    }

    [Fact]
    public async Task Fetches_the_pcs_urls_writes_the_directory_layout_and_serves_from_cache_offline()
    {
        using var server = Pcs();
        using var http = new HttpClient();
        var time = new FixedTimeProvider(GoTdxTime);
        var pcs = new PcsCollateralSource(http, server.BaseUri, cache, time);
        var result = await new TdxVerifier(pcs, time).VerifyAsync(GoTdxV4().Quote, null);
        AssertOnlyFailed(result, "tcb.platform");
        Assert.Equal("UpToDate", result.Claims["tdx.tcb.qe_status"]);
        Assert.Equal(
            ["/tdx/certification/v4/tcb?fmspc=50806F000000", "/tdx/certification/v4/qe/identity", "/sgx/certification/v4/pckcrl?ca=platform&encoding=der", "/sgx/certification/v4/rootcacrl"],
            server.Requests.ToArray());

        var set = Path.Combine(cache, "fmspc-50806f000000-platform");
        Assert.Equal(TdxDirectoryCollateral.FileNames.Order(StringComparer.Ordinal), Directory.GetFiles(set).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(Vectors.Text("go-tdx-guest", "derived", "tcbInfo_issuer_chain.pem"), File.ReadAllText(Path.Combine(set, "tcb_info_issuer_chain.pem")));

        AssertOnlyFailed(await new TdxVerifier(pcs, time).VerifyAsync(GoTdxV4().Quote, null), "tcb.platform");
        Assert.Equal(4, server.Requests.Count);
        AssertOnlyFailed(await new TdxVerifier(new TdxDirectoryCollateral(cache), time).VerifyAsync(GoTdxV4().Quote, null), "tcb.platform");
    }

    [Fact]
    public async Task A_stale_cache_is_fetched_again_and_still_stale_collateral_is_refused()
    {
        using var server = Pcs("/pccs");
        using var http = new HttpClient();
        var now = new FixedTimeProvider(GoTdxTime);
        _ = await new PcsCollateralSource(http, new Uri(server.BaseUri, "pccs"), cache, now).GetAsync(new TdxCollateralRequest(Convert.FromHexString("50806f000000"), "platform"), default);
        Assert.Equal(4, server.Requests.Count);

        var later = new FixedTimeProvider(DateTimeOffset.Parse("2023-07-20T00:00:00Z"));
        var result = await new TdxVerifier(new PcsCollateralSource(http, new Uri(server.BaseUri, "pccs"), cache, later), later).VerifyAsync(GoTdxV4().Quote, null);
        Assert.Equal(8, server.Requests.Count);
        AssertFailed(result, "tcb_info.next_update");
    }

    [Fact]
    public async Task A_response_without_its_issuer_chain_header_is_a_named_network_error()
    {
        using var server = new LoopbackHttpServer();
        server.Add("/tdx/certification/v4/tcb?fmspc=50806F000000", Vectors.Bytes("go-tdx-guest", "testing-testdata", "sample_tcbInfo_response"));
        using var http = new HttpClient();
        var pcs = new PcsCollateralSource(http, server.BaseUri, cache, new FixedTimeProvider(GoTdxTime));
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => pcs.GetAsync(new TdxCollateralRequest(Convert.FromHexString("50806f000000"), "platform"), default).AsTask());
        Assert.Contains("TCB-Info-Issuer-Chain", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(cache));
    }
}
