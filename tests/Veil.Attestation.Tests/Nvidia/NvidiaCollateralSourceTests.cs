using System.Text;
using Veil.Attestation.Nvidia;
using Veil.Tests.Shared;
using static Veil.Attestation.Tests.Nvidia.NvidiaVectorCases;

namespace Veil.Attestation.Tests.Nvidia;

/// <summary>The RIM service fetcher against a 127.0.0.1 server, its cache, and the offline directory layout.</summary>
public sealed class NvidiaCollateralSourceTests : IDisposable
{
    private const string DriverId = "NV_GPU_DRIVER_GH100_545.00";
    private const string VbiosId = "NV_GPU_VBIOS_1010_0200_882_96005E0001";
    private readonly string dir = Directory.CreateTempSubdirectory("veil-nvrim-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static byte[] ServiceAnswer(string id, string path) =>
        Encoding.UTF8.GetBytes($"{{\"id\": \"{id}\", \"rim\": \"{Convert.ToBase64String(File.ReadAllBytes(path))}\", \"rim_format\": \"base64\"}}");

    private static Task<NvidiaSetResult> VerifyWith(INvidiaCollateralSource source) =>
        new NvidiaVerifier(source, new FixedTimeProvider(RimTime)).VerifyAsync(File.ReadAllBytes(HistoryReport), Chain(HistoryChain), Hex.Parse(TestNoGpuNonce, "nonce"));

    [Fact]
    public async Task Rim_service_fetcher_requests_the_rim_ids_caches_them_and_the_cache_works_offline()
    {
        using var server = new LoopbackHttpServer();
        server.Add($"/mirror/v1/rim/{DriverId}", ServiceAnswer(DriverId, TestDriverRim));
        server.Add($"/mirror/v1/rim/{VbiosId}", ServiceAnswer(VbiosId, TestVbiosRim));
        using var http = new HttpClient();
        var service = new NvidiaServiceCollateral(http, new Uri(server.BaseUri, "mirror"), null, dir);

        var r = await VerifyWith(service);
        Assert.True(r.Combined.Verified, Failures(r));
        Assert.Equal(true, r.Combined.Claims["nvidia.measurements_match"]);
        Assert.Equal([$"/mirror/v1/rim/{DriverId}", $"/mirror/v1/rim/{VbiosId}"], server.Requests.ToArray());
        Assert.True(File.Exists(Path.Combine(dir, "rims", DriverId + ".xml")));

        Assert.True((await VerifyWith(service)).Combined.Verified);
        Assert.Equal(2, server.Requests.Count);
        var offline = await VerifyWith(new NvidiaDirectoryCollateral(dir));
        Assert.Equal(true, offline.Combined.Claims["nvidia.measurements_match"]);
    }

    [Fact]
    public async Task Rim_not_found_is_a_finding_and_a_garbled_answer_a_named_error()
    {
        using var server = new LoopbackHttpServer();
        server.Add($"/v1/rim/{DriverId}", "{\"rim\": 5}"u8.ToArray());
        using var http = new HttpClient();
        var service = new NvidiaServiceCollateral(http, server.BaseUri, null, dir);
        var e = await Assert.ThrowsAsync<EvidenceFormatException>(() => VerifyWith(service));
        Assert.Contains("not a RIM service answer", e.Reason, StringComparison.Ordinal);

        server.Add($"/v1/rim/{DriverId}", ServiceAnswer(DriverId, TestDriverRim));
        var r = await VerifyWith(service);
        Assert.Contains((IEnumerable<string>)r.Combined.Claims["nvidia.findings"], f => f.Contains(VbiosId, StringComparison.Ordinal));
        Assert.Equal(false, r.Combined.Claims["nvidia.measurements_match"]);
    }

    [Fact]
    public async Task Hand_made_directory_with_swidtag_names_is_read()
    {
        File.Copy(TestDriverRim, Path.Combine(dir, DriverId + ".swidtag"));
        Directory.CreateDirectory(Path.Combine(dir, "rims"));
        File.Copy(TestVbiosRim, Path.Combine(dir, "rims", VbiosId + ".xml"));
        var r = await VerifyWith(new NvidiaDirectoryCollateral(dir));
        Assert.True(r.Combined.Verified, Failures(r));
        Assert.Equal(true, r.Combined.Claims["nvidia.measurements_match"]);
    }

    [Fact]
    public async Task Rim_service_answering_with_corims_caches_them_as_corim_files_the_offline_directory_reads()
    {
        using var pki = new TestPki();
        var driver = Veil.Attestation.Nvidia.Rim.RimDocument.Parse(File.ReadAllBytes(TestDriverRim), "driver");
        var vbios = Veil.Attestation.Nvidia.Rim.RimDocument.Parse(File.ReadAllBytes(TestVbiosRim), "vbios");
        static byte[] Answer(string id, byte[] corim) =>
            Encoding.UTF8.GetBytes($"{{\"id\": \"{id}\", \"rim\": \"{Convert.ToBase64String(corim)}\"}}");
        using var server = new LoopbackHttpServer();
        server.Add($"/v1/rim/{DriverId}", Answer(DriverId, CorimBuilder.SignedFromSwid(driver, pki)));
        server.Add($"/v1/rim/{VbiosId}", Answer(VbiosId, CorimBuilder.SignedFromSwid(vbios, pki)));
        using var http = new HttpClient();
        Task<NvidiaSetResult> Verify(INvidiaCollateralSource source) =>
            new NvidiaVerifier(source, new FixedTimeProvider(RimTime), pki.Root).VerifyAsync(File.ReadAllBytes(HistoryReport), Chain(HistoryChain), Hex.Parse(TestNoGpuNonce, "nonce"));

        var r = await Verify(new NvidiaServiceCollateral(http, server.BaseUri, null, dir));
        Assert.True(r.Combined.Verified, Failures(r));
        Assert.True(File.Exists(Path.Combine(dir, "rims", VbiosId + ".corim")));
        Assert.False(File.Exists(Path.Combine(dir, "rims", VbiosId + ".xml")));
        var offline = await Verify(new NvidiaDirectoryCollateral(dir));
        Assert.True(offline.Combined.Verified, Failures(offline));
        Assert.Equal(true, offline.Combined.Claims["nvidia.measurements_match"]);
    }

    [Theory]
    [InlineData("../etc/passwd")]
    [InlineData("a/b")]
    [InlineData("")]
    public void Rim_ids_that_are_not_file_names_are_refused(string id) =>
        Assert.Equal("rim.id", Assert.Throws<EvidenceFormatException>(() => NvidiaDirectoryCollateral.SafeName(id)).Field);
}
