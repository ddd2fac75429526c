using Veil.Attestation.Snp;
using Veil.Tests.Shared;
using static Veil.Attestation.Tests.Snp.SnpVectorCases;

namespace Veil.Attestation.Tests.Snp;

/// <summary>The KDS fetcher against a 127.0.0.1 server serving vector files, and the offline directory it fills.</summary>
public sealed class SnpCollateralSourceTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("veil-kds-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Theory]
    [InlineData("genoa", "/vcek/v1/Genoa/b1e24a27bbc3a4d58090d8b89851dce3b8031544be249b9ac17132bb222b027622347ee4d0fe4f689efdfc47a68cefc686cbb448d01436506ee1e28010cab7c0?blSPL=10&teeSPL=00&snpSPL=23&ucodeSPL=84")]
    [InlineData("turin", "/vcek/v1/Turin/59790fb1c39f35c1?fmcSPL=01&blSPL=01&teeSPL=01&snpSPL=04&ucodeSPL=81")]
    public async Task Kds_fetcher_requests_the_spec_urls_caches_them_and_the_cache_works_offline(string gen, string vcekPath)
    {
        var ms = Ms(gen);
        var product = gen == "turin" ? "Turin" : "Genoa";
        using var server = new LoopbackHttpServer();
        server.Add(vcekPath, ms.Leaf!.RawData);
        server.Add($"/vcek/v1/{product}/cert_chain", Vectors.Bytes("go-sev-guest", "verify-trust", gen == "turin" ? "ask_ark_turin_vcek.pem" : "ask_ark_genoa.pem"));

        using var http = new HttpClient();
        var kds = new KdsCollateralSource(http, server.BaseUri, dir);
        var verifier = new SnpVerifier(kds, new FixedTimeProvider(ms.At));
        AssertVerified(await verifier.VerifyAsync(ms.Evidence, null));
        Assert.Equal([vcekPath, $"/vcek/v1/{product}/cert_chain"], server.Requests.ToArray());

        // A second verification is served from the cache; so is an offline directory pointing at it.
        AssertVerified(await new SnpVerifier(kds, new FixedTimeProvider(ms.At)).VerifyAsync(ms.Evidence, null));
        Assert.Equal(2, server.Requests.Count);
        AssertVerified(await new SnpVerifier(new SnpDirectoryCollateral(dir), new FixedTimeProvider(ms.At)).VerifyAsync(ms.Evidence, null));
    }

    [Fact]
    public async Task Kds_fetcher_tries_each_product_for_a_v2_report_under_a_mirror_path()
    {
        var c = GoSevGuest();
        using var server = new LoopbackHttpServer();
        server.Add("/mirror/vcek/v1/Milan/3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d?blSPL=02&teeSPL=00&snpSPL=05&ucodeSPL=68", c.Leaf!.RawData);
        server.Add("/mirror/vcek/v1/Milan/cert_chain", Vectors.Bytes("go-sev-guest", "verify-testdata", "milan.testcer"));
        using var http = new HttpClient();
        var kds = new KdsCollateralSource(http, new Uri(server.BaseUri, "mirror"), dir);
        AssertVerified(await new SnpVerifier(kds, new FixedTimeProvider(c.At)).VerifyAsync(c.Evidence, null));

        var missing = Ms("milan");
        var result = await new SnpVerifier(kds, new FixedTimeProvider(missing.At)).VerifyAsync(missing.Evidence, null);
        AssertFailed(result, "collateral.vcek");
    }

    [Fact]
    public async Task Hand_made_directory_with_flat_names_is_read()
    {
        var ms = Ms("milan");
        File.WriteAllBytes(Path.Combine(dir, "vcek.pem"), Vectors.Bytes("TEE-Attestation-Verification", "tests-test_data", "milan_vcek.pem"));
        AssertVerified(await new SnpVerifier(new SnpDirectoryCollateral(dir), new FixedTimeProvider(ms.At)).VerifyAsync(ms.Evidence, null));
    }
}
