using System.Net;
using System.Text.RegularExpressions;
using Veil.Tests.Shared;

namespace Veil.Cli.Tests;

/// <summary>
/// The collateral flags are one set read by one piece of code: every flag of 'verify snp|tdx|gpu' exists on 'appraise',
/// and a flag that reaches a vendor service (--kds-url) works on both verbs against a real HTTP server on loopback.
/// </summary>
public sealed partial class CollateralFlagsTests
{
    private static readonly string Ms = Vectors.Path("TEE-Attestation-Verification", "tests-test_data");

    private static readonly string[] Own = ["--report", "--quote", "--evidence", "--report-data", "--nonce", "--at", "--output", "--init-data", "--init-data-digest", "--help", "-h", "-?"];

    [Theory]
    [InlineData("snp")]
    [InlineData("tdx")]
    [InlineData("gpu")]
    public void Every_collateral_flag_of_verify_is_a_flag_of_appraise(string tee)
    {
        var verify = Flags("verify", tee, "--help");
        var appraise = Flags("appraise", "--help");
        var collateral = verify.Except(Own).ToList();
        Assert.NotEmpty(collateral);
        Assert.All(collateral, f => Assert.Contains(f, appraise));
    }

    [Theory]
    [InlineData("az-snp-vtpm", "--kds-url")]
    [InlineData("az-tdx-vtpm", "--pcs-url")]
    [InlineData("az-tdx-vtpm", "--no-collateral")]
    public void The_azure_verbs_take_the_collateral_flags_of_their_tee(string verb, string flag) =>
        Assert.Contains(flag, Flags("verify", verb, "--help"));

    [Theory]
    [InlineData("verify", "snp")]
    [InlineData("appraise", "--policy", "sample", "--snp")]
    public async Task Kds_url_fetches_the_vcek_from_a_kds_on_loopback_for_verify_and_appraise(params string[] verb)
    {
        using var kds = new LoopbackKds(File.ReadAllBytes(Path.Combine(Ms, "genoa_vcek.pem")), File.ReadAllBytes(Path.Combine(Ms, "genoa_ask.pem")));
        var cache = Directory.CreateTempSubdirectory("veil-kds-cache").FullName;
        try
        {
            var (exit, stdout, stderr) = await Task.Run(() => CliRunner.Run(
                [.. verb, "--report", Path.Combine(Ms, "genoa_attestation_report.bin"), "--kds-url", kds.Url, "--collateral-dir", cache, "--at", "2026-03-01T00:00:00Z"]));
            Assert.True(kds.Requests.Any(r => r.Contains("/vcek/v1/Genoa/", StringComparison.Ordinal)), string.Join(", ", kds.Requests) + stderr);
            Assert.DoesNotContain("collateral.vcek", stdout, StringComparison.Ordinal);
            Assert.NotEmpty(Directory.EnumerateFiles(cache, "*", SearchOption.AllDirectories));
            if (verb[0] == "verify")
            {
                Assert.Equal(0, exit);
            }
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    private static List<string> Flags(params string[] args)
    {
        var (exit, stdout, _) = CliRunner.Run(args);
        Assert.Equal(0, exit);
        return [.. FlagPattern().Matches(stdout).Select(m => m.Groups[1].Value)];
    }

    [GeneratedRegex(@"^\s+(--[a-z0-9-]+)", RegexOptions.Multiline)]
    private static partial Regex FlagPattern();

    /// <summary>AMD KDS's two paths (vcek/v1/{product}/{hwid}, vcek/v1/{product}/cert_chain) served from vector files.</summary>
    private sealed class LoopbackKds : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Task _loop;

        public LoopbackKds(byte[] vcek, byte[] chain)
        {
            var port = FreePort();
            Url = $"http://127.0.0.1:{port}/";
            _listener.Prefixes.Add(Url);
            _listener.Start();
            _loop = Task.Run(async () =>
            {
                while (_listener.IsListening)
                {
                    HttpListenerContext ctx;
                    try
                    {
                        ctx = await _listener.GetContextAsync();
                    }
                    catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                    {
                        return;
                    }

                    var path = ctx.Request.Url!.AbsolutePath;
                    lock (Requests)
                    {
                        Requests.Add(path);
                    }

                    var body = path.EndsWith("/cert_chain", StringComparison.Ordinal) ? chain : vcek;
                    ctx.Response.StatusCode = 200;
                    await ctx.Response.OutputStream.WriteAsync(body);
                    ctx.Response.Close();
                }
            });
        }

        public string Url { get; }

        public List<string> Requests { get; } = [];

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            _loop.Wait(TimeSpan.FromSeconds(5));
        }

        private static int FreePort()
        {
            var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            l.Start();
            var port = ((IPEndPoint)l.LocalEndpoint).Port;
            l.Stop();
            return port;
        }
    }
}
