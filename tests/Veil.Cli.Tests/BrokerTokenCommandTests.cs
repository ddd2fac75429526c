using System.Text.Json;
using Microsoft.Extensions.Logging;
using Veil.Broker;
using Veil.Broker.Hosting;

namespace Veil.Cli.Tests;

/// <summary>
/// <c>veil broker init</c> writes a short-lived admin token; <c>veil broker token mint</c> signs new ones from the
/// admin key (role, lifetime, audience), never printing them; a broker accepts what it mints.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class BrokerTokenCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("veil-cli-token-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string DataDir => Path.Combine(_dir, "data");

    private static JsonElement Payload(string token)
    {
        var part = token.Trim().Split('.')[1].Replace('-', '+').Replace('_', '/');
        part = part.PadRight(part.Length + ((4 - (part.Length % 4)) % 4), '=');
        using var doc = JsonDocument.Parse(Convert.FromBase64String(part));
        return doc.RootElement.Clone();
    }

    [Fact]
    public async Task Init_token_lasts_an_hour_and_minted_tokens_work_against_the_broker()
    {
        var (exit, stdout, _) = CliRunner.Run("broker", "init", "--data-dir", DataDir);
        Assert.Equal(0, exit);
        Assert.Contains("mint another with 'veil broker token mint'", stdout, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(DataDir));
        var init = Payload(File.ReadAllText(Path.Combine(DataDir, "admin.token")));
        Assert.Equal(3600, init.GetProperty("exp").GetInt64() - init.GetProperty("iat").GetInt64());

        var minted = Path.Combine(_dir, "minted.token");
        var mint = CliRunner.Run("broker", "token", "mint", "--data-dir", DataDir, "--expires-in", "30m", "--audience", "veil-broker", "--out", minted);
        Assert.Equal(0, mint.Exit);
        var token = File.ReadAllText(minted).Trim();
        Assert.DoesNotContain(token, mint.Out, StringComparison.Ordinal);
        Assert.Contains("admin token (role admin, subject admin, valid until", mint.Out, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(minted));
        var claims = Payload(token);
        Assert.Equal(1800, claims.GetProperty("exp").GetInt64() - claims.GetProperty("iat").GetInt64());
        Assert.Equal("admin", claims.GetProperty("role").GetString());
        Assert.Equal("veil-broker", claims.GetProperty("aud").GetString());

        await using var host = await BrokerHost.StartAsync(
            new BrokerOptions { DataDir = DataDir, Urls = ["http://127.0.0.1:0"], AdminAudience = "veil-broker", Policy = "sample", AllowSample = true },
            b => b.Logging.ClearProviders(), _ => null, CancellationToken.None);
        using var http = new HttpClient { BaseAddress = host.Addresses[0] };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using (var r = await http.GetAsync(new Uri("veil/v0/resources", UriKind.Relative)))
        {
            Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
        }

        // The init token has no audience: refused by this broker, with the reason.
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", File.ReadAllText(Path.Combine(DataDir, "admin.token")).Trim());
        using (var r = await http.GetAsync(new Uri("veil/v0/resources", UriKind.Relative)))
        {
            Assert.Equal(401, (int)r.StatusCode);
            Assert.Contains("requires 'veil-broker'", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Minting again over the default file replaces it.
        Assert.Equal(0, CliRunner.Run("broker", "token", "mint", "--data-dir", DataDir).Exit);
        Assert.NotEqual(0, Payload(File.ReadAllText(Path.Combine(DataDir, "admin.token"))).GetProperty("iat").GetInt64());
    }

    [Theory]
    [InlineData("--expires-in", "0m", "--expires-in: '0m' is not a lifetime of 1m to 31d")]
    [InlineData("--expires-in", "32d", "--expires-in: '32d' is not a lifetime of 1m to 31d")]
    [InlineData("--expires-in", "1y", "--expires-in: '1y' is not a lifetime of 1m to 31d")]
    [InlineData("--role", "tenant", "--role: 'tenant' is not a role this broker knows (known: admin, tenant-admin:<repository>, auditor, policy-admin)")]
    [InlineData("--role", "tenant-admin:a/b", "--role: 'tenant-admin:a/b' is not a role this broker knows")]
    public void Mint_refuses_bad_options_with_the_reason(string option, string value, string error)
    {
        Assert.Equal(0, CliRunner.Run("broker", "init", "--data-dir", DataDir).Exit);
        var (exit, _, err) = CliRunner.Run("broker", "token", "mint", "--data-dir", DataDir, option, value, "--out", Path.Combine(_dir, "t"));
        Assert.Equal(2, exit);
        Assert.Contains(error, err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
    }

    [Fact]
    public void Mint_without_an_initialised_directory_names_the_missing_key()
    {
        var (exit, _, err) = CliRunner.Run("broker", "token", "mint", "--data-dir", Path.Combine(_dir, "none"));
        Assert.Equal(2, exit);
        Assert.Contains("admin-key.pem", err, StringComparison.Ordinal);
        Assert.Contains("veil broker init", err, StringComparison.Ordinal);
    }
}
