using Microsoft.Extensions.Logging;
using Veil.Broker;
using Veil.Broker.Hosting;

namespace Veil.Cli.Tests;

/// <summary>
/// <c>veil broker init|get</c> and <c>veil resource put|delete|list</c> against a real broker on 127.0.0.1
/// (started in-process; <c>serve</c> itself blocks, so its startup refusals are tested separately).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class BrokerCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("veil-cli-broker-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string DataDir => Path.Combine(_dir, "data");

    private string TokenFile => Path.Combine(DataDir, "admin.token");

    private async Task<BrokerHost> StartAsync(bool allowSample)
    {
        var options = new BrokerOptions { DataDir = DataDir, Urls = ["http://127.0.0.1:0"], AllowSample = allowSample, Policy = "sample" };
        return await BrokerHost.StartAsync(options, b => b.Logging.ClearProviders(), _ => null, CancellationToken.None);
    }

    [Fact]
    public void Init_creates_owner_only_key_files_and_never_prints_the_token()
    {
        var (exit, stdout, stderr) = CliRunner.Run("broker", "init", "--data-dir", DataDir);
        Assert.Equal(0, exit);
        Assert.Equal("", stderr);
        var token = File.ReadAllText(TokenFile).Trim();
        Assert.DoesNotContain(token, stdout, StringComparison.Ordinal);
        Assert.Contains("admin.token", stdout, StringComparison.Ordinal);
        foreach (var f in new[] { "master.key", "token-signing-key.pem", "admin-key.pem", "admin.token" })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(DataDir, f)));
        }

        var again = CliRunner.Run("broker", "init", "--data-dir", DataDir);
        Assert.Equal(2, again.Exit);
        Assert.Contains("already initialised", again.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Init_if_missing_creates_once_changes_nothing_after_and_still_refuses_a_partial_directory()
    {
        Assert.Equal(0, CliRunner.Run("broker", "init", "--data-dir", DataDir, "--if-missing").Exit);
        var master = File.ReadAllBytes(Path.Combine(DataDir, "master.key"));
        var token = File.ReadAllText(TokenFile);

        var (exit, stdout, _) = CliRunner.Run("broker", "init", "--data-dir", DataDir, "--if-missing");
        Assert.Equal(0, exit);
        Assert.Contains("already initialised; nothing changed", stdout, StringComparison.Ordinal);
        Assert.Equal(master, File.ReadAllBytes(Path.Combine(DataDir, "master.key")));
        Assert.Equal(token, File.ReadAllText(TokenFile));

        File.Delete(Path.Combine(DataDir, "token-signing-key.pem"));
        var partial = CliRunner.Run("broker", "init", "--data-dir", DataDir, "--if-missing");
        Assert.Equal(2, partial.Exit);
        Assert.Contains("already initialised (master.key", partial.Err, StringComparison.Ordinal);
        Assert.Equal(master, File.ReadAllBytes(Path.Combine(DataDir, "master.key")));
    }

    [Fact]
    public async Task Put_list_get_delete_round_trip_through_the_cli()
    {
        Assert.Equal(0, CliRunner.Run("broker", "init", "--data-dir", DataDir).Exit);
        await using var host = await StartAsync(allowSample: true);
        var url = host.Addresses[0].ToString();
        var valueFile = Path.Combine(_dir, "value.bin");
        File.WriteAllText(valueFile, "cli-secret-value-0042");

        var put = CliRunner.Run("resource", "put", "default/model/key", "--file", valueFile, "--broker", url, "--admin-token", TokenFile);
        Assert.Equal((0, ""), (put.Exit, put.Err));
        Assert.DoesNotContain("cli-secret-value-0042", put.Out, StringComparison.Ordinal);

        var list = CliRunner.Run("resource", "list", "--broker", url, "--admin-token", TokenFile);
        Assert.Equal(0, list.Exit);
        Assert.Contains("default/model/key", list.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("cli-secret-value-0042", list.Out, StringComparison.Ordinal);

        foreach (var keyType in new[] { "ec", "rsa" })
        {
            var get = CliRunner.Run("broker", "get", "default/model/key", "--broker", url, "--tee", "sample", "--key-type", keyType);
            Assert.Equal((0, "cli-secret-value-0042"), (get.Exit, get.Out));
        }

        Assert.Equal(0, CliRunner.Run("resource", "delete", "default/model/key", "--broker", url, "--admin-token", TokenFile).Exit);
        var gone = CliRunner.Run("broker", "get", "default/model/key", "--broker", url);
        Assert.Equal(1, gone.Exit);
        Assert.Contains("404 ResourceNotFound", gone.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refvalue_add_with_broker_provisions_a_set_the_broker_then_knows()
    {
        Assert.Equal(0, CliRunner.Run("broker", "init", "--data-dir", DataDir).Exit);
        await using var host = await StartAsync(allowSample: true);
        var url = host.Addresses[0].ToString();
        using var admin = new HttpClient { BaseAddress = host.Addresses[0] };
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", File.ReadAllText(TokenFile).Trim());
        var policy = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(
            "apiVersion: veil.dev/v1\nkind: AttestationPolicy\nsubmodules:\n  cpu:\n    accept: [sample]\n    rules:\n      - {name: svn, claim: sample.svn, inSet: approved-svns, trust: hardware}\n"))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');
        async Task<int> PostPolicyAsync()
        {
            using var body = new StringContent("{\"policy_id\":\"p\",\"policy\":\"" + policy + "\"}", System.Text.Encoding.UTF8, "application/json");
            using var r = await admin.PostAsync(new Uri("kbs/v0/attestation-policy", UriKind.Relative), body);
            return (int)r.StatusCode;
        }

        // The broker does not know the set yet, so a policy naming it is refused...
        Assert.Equal(400, await PostPolicyAsync());
        var add = CliRunner.Run("refvalue", "add", "approved-svns", "--value", "1", "--provenance", "release notes 1.0", "--broker", url, "--admin-token", TokenFile);
        Assert.Equal((0, ""), (add.Exit, add.Err));
        Assert.Contains("approved-svns += 1", add.Out, StringComparison.Ordinal);
        // ...and accepted once the CLI has provisioned it.
        Assert.Equal(200, await PostPolicyAsync());

        var wrongToken = Path.Combine(_dir, "wrong.token");
        File.WriteAllText(wrongToken, "eyJhbGciOiJFUzI1NiJ9.eyJyb2xlIjoiYWRtaW4ifQ.AAAA");
        var refused = CliRunner.Run("refvalue", "add", "approved-svns", "--value", "2", "--provenance", "x", "--broker", url, "--admin-token", wrongToken);
        Assert.Equal(1, refused.Exit);
        Assert.Contains("401 AdminAuthFailed", refused.Err, StringComparison.Ordinal);
        var both = CliRunner.Run("refvalue", "add", "s", "--value", "2", "--provenance", "x", "--broker", url, "--admin-token", TokenFile, "--file", Path.Combine(_dir, "rv.yaml"));
        Assert.Equal(2, both.Exit);
        Assert.Contains("exactly one of --file or --broker", both.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refusals_are_one_line_with_the_right_exit_code()
    {
        Assert.Equal(0, CliRunner.Run("broker", "init", "--data-dir", DataDir).Exit);
        await using var host = await StartAsync(allowSample: false);
        var url = host.Addresses[0].ToString();

        var sample = CliRunner.Run("broker", "get", "default/model/key", "--broker", url);
        Assert.Equal(1, sample.Exit);
        Assert.Contains("SampleNotAllowed", sample.Err, StringComparison.Ordinal);
        Assert.Single(sample.Err.Trim().Split('\n'));

        var badPath = CliRunner.Run("resource", "put", "default/../key", "--file", TokenFile, "--broker", url, "--admin-token", TokenFile);
        Assert.Equal(2, badPath.Exit);
        Assert.Contains("not repository/type/tag", badPath.Err, StringComparison.Ordinal);

        var wrongToken = Path.Combine(_dir, "wrong.token");
        File.WriteAllText(wrongToken, "eyJhbGciOiJFUzI1NiJ9.eyJyb2xlIjoiYWRtaW4ifQ.AAAA");
        var refused = CliRunner.Run("resource", "list", "--broker", url, "--admin-token", wrongToken);
        Assert.Equal(1, refused.Exit);
        Assert.Contains("401 AdminAuthFailed", refused.Err, StringComparison.Ordinal);

        var noFile = CliRunner.Run("resource", "list", "--broker", url, "--admin-token", Path.Combine(_dir, "missing"));
        Assert.Equal(2, noFile.Exit);

        var otherTee = CliRunner.Run("broker", "get", "a/b/c", "--broker", url, "--tee", "snp");
        Assert.Equal(2, otherTee.Exit);
    }

    [Fact]
    public void Serve_refuses_unsafe_or_broken_settings_before_listening()
    {
        Assert.Equal(0, CliRunner.Run("broker", "init", "--data-dir", DataDir).Exit);
        var http = CliRunner.Run("broker", "serve", "--data-dir", DataDir, "--urls", "http://0.0.0.0:0");
        Assert.Equal(2, http.Exit);
        Assert.Contains("plain HTTP is only allowed on loopback", http.Err, StringComparison.Ordinal);

        var https = CliRunner.Run("broker", "serve", "--data-dir", DataDir, "--urls", "https://127.0.0.1:0");
        Assert.Equal(2, https.Exit);
        Assert.Contains("--tls-cert", https.Err, StringComparison.Ordinal);

        var yaml = Path.Combine(_dir, "veil.yaml");
        File.WriteAllText(yaml, "data-dir: " + DataDir + "\nallow-sample: true\n");
        var cfg = CliRunner.Run("broker", "serve", "--config", yaml);
        Assert.Equal(2, cfg.Exit);
        Assert.Contains("allow-sample cannot be set in a config file", cfg.Err, StringComparison.Ordinal);

        var toml = Path.Combine(_dir, "veil.toml");
        File.WriteAllText(toml, "data-dir = \"" + DataDir + "\"\nurls = [\"http://10.0.0.1:8080\"]\n");
        var cfg2 = CliRunner.Run("broker", "serve", "--config", toml);
        Assert.Equal(2, cfg2.Exit);
        Assert.Contains("http://10.0.0.1:8080", cfg2.Err, StringComparison.Ordinal);

        // strict (the default) needs the operator's SNP TCB minimums; a broken policy file is refused with file:line.
        var noParams = CliRunner.Run("broker", "serve", "--data-dir", DataDir, "--urls", "http://127.0.0.1:0");
        Assert.Equal(2, noParams.Exit);
        Assert.Contains("snp_min_bootloader", noParams.Err, StringComparison.Ordinal);
        var badPolicy = Path.Combine(_dir, "bad-policy.yaml");
        File.WriteAllText(badPolicy, "apiVersion: veil.dev/v1\nkind: AttestationPolicy\nsubmodules:\n  cpu:\n    rules:\n      - {name: x, claim: snp.polcy.debug, equals: false, trust: configuration}\n");
        var bad = CliRunner.Run("broker", "serve", "--data-dir", DataDir, "--urls", "http://127.0.0.1:0", "--policy", badPolicy);
        Assert.Equal(2, bad.Exit);
        Assert.Contains("bad-policy.yaml:6", bad.Err, StringComparison.Ordinal);
        Assert.Contains("snp.polcy.debug", bad.Err, StringComparison.Ordinal);

        var missing = CliRunner.Run("broker", "serve", "--data-dir", Path.Combine(_dir, "nope"), "--urls", "http://127.0.0.1:0");
        Assert.Equal(2, missing.Exit);
        Assert.Contains("veil broker init", missing.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Serve_and_rotation_refuse_a_store_file_that_is_not_a_database()
    {
        Assert.Equal(0, CliRunner.Run("broker", "init", "--data-dir", DataDir).Exit);
        var store = Path.Combine(DataDir, "broker.db");
        // What a wrong volume, a truncated restore or a stray file leaves: not SQLite's header.
        File.WriteAllText(store, new string('x', 4096));
        var serve = CliRunner.Run("broker", "serve", "--data-dir", DataDir, "--urls", "http://127.0.0.1:0", "--policy", "sample");
        Assert.Equal(2, serve.Exit);
        Assert.Contains($"SQLite store {store}: SQLite store file is not a database (result code 26); restore it from a backup", serve.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("internal error", serve.Err, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", serve.Err, StringComparison.Ordinal);

        var newKey = Path.Combine(_dir, "new.key");
        File.WriteAllText(newKey, Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
        File.SetUnixFileMode(newKey, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var rotate = CliRunner.Run("broker", "rotate-master-key", "--data-dir", DataDir, "--to", "file:" + newKey);
        Assert.Equal(2, rotate.Exit);
        Assert.Contains("is not a database", rotate.Err, StringComparison.Ordinal);
        Assert.Equal(new string('x', 4096), File.ReadAllText(store));
    }

    [Fact]
    public void Master_key_file_readable_by_others_is_refused()
    {
        Assert.Equal(0, CliRunner.Run("broker", "init", "--data-dir", DataDir).Exit);
        File.SetUnixFileMode(Path.Combine(DataDir, "master.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        var r = CliRunner.Run("broker", "serve", "--data-dir", DataDir, "--urls", "http://127.0.0.1:0", "--policy", "sample");
        Assert.Equal(2, r.Exit);
        Assert.Contains("permissions are too open", r.Err, StringComparison.Ordinal);
        Assert.DoesNotContain(File.ReadAllText(Path.Combine(DataDir, "master.key")).Trim(), r.Err + r.Out, StringComparison.Ordinal);
    }
}
