using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Veil.Broker.Keys;
using Veil.Broker.KeyWrapping;
using Veil.Broker.Tests.EndToEnd;
using Veil.Broker.Tests.Support;
using Veil.Protocol.Client;

namespace Veil.Broker.Tests.MasterKeys;

/// <summary>A broker whose master key is in a SoftHSM2 token: releases end to end, and fails closed when the token goes.</summary>
public sealed class Pkcs11BrokerTests
{
    [Fact]
    public async Task A_broker_with_its_master_key_in_the_token_stores_and_releases_end_to_end()
    {
        var label = SoftHsmToken.NewKey("e2e");
        await using var broker = await TestBroker.StartAsync(configure: o => o with { MasterKey = SoftHsmToken.Uri(label) });
        var secret = RandomNumberGenerator.GetBytes(48);
        await broker.PutResourceAsync("default/model/hsm", secret);

        using var http = broker.NewHttpClient();
        var client = new KbsClient(http);
        using var key = TeeKey.CreateEc();
        await Handshake.SampleAsync(client, key);
        Assert.Equal(secret, key.Decrypt(await client.GetResourceAsync("default/model/hsm")));

        await using var store = await Storage.SqliteBrokerStoreHandle.OpenAsync(broker.DataDir);
        var row = (await store.Store.GetResourceAsync("default/model/hsm", CancellationToken.None))!;
        Assert.Equal($"pkcs11:token={SoftHsmToken.TokenLabel};object={label}", Envelope.Read(row, "default/model/hsm")!.Value.KeyId);
        Assert.Empty(RotationFixture.Scan([broker.DataDir, SoftHsmToken.Dir], [secret]));
    }

    /// <summary>
    /// In a child process with a token of its own: SoftHSM2 reads SOFTHSM2_CONF when the module loads, so only a
    /// process of its own can lose its token while the suite's stays.
    /// </summary>
    [Fact]
    public async Task Removing_the_token_makes_release_fail_closed_with_503_MasterKeyUnavailable()
    {
        var hsm = Directory.CreateTempSubdirectory("veil-hsm-gone-").FullName;
        var dataDir = Directory.CreateTempSubdirectory("veil-broker-gone-").FullName;
        try
        {
            var uri = SoftHsmToken.Script("init", hsm, "veil-gone").Trim();
            BrokerInit.Run(dataDir, TimeSpan.FromDays(1), TimeProvider.System);
            TestBroker.RegisterKeyFiles(dataDir);
            SecretLedger.Add("token PIN", File.ReadAllText(Path.Combine(hsm, "pin")).Trim());
            var env = new Dictionary<string, string?> { ["SOFTHSM2_CONF"] = Path.Combine(hsm, "softhsm2.conf") };
            using var broker = VeilProcess.StartWith(env, "broker", "serve", "--data-dir", dataDir, "--urls", "http://127.0.0.1:0", "--policy", "sample", "--allow-sample", "--master-key", uri);
            var url = await broker.ListeningAsync();
            var secret = RandomNumberGenerator.GetBytes(32);
            SecretLedger.AddBytes("resource default/model/gone", secret);
            using (var admin = new HttpClient { BaseAddress = url })
            {
                admin.DefaultRequestHeaders.Authorization = new("Bearer", File.ReadAllText(Path.Combine(dataDir, BrokerKeys.AdminTokenFile)).Trim());
                using var content = new ByteArrayContent(secret);
                (await admin.PostAsync(new Uri("kbs/v0/resource/default/model/gone", UriKind.Relative), content)).EnsureSuccessStatusCode();
            }

            using var http = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = url };
            var client = new KbsClient(http);
            using var key = TeeKey.CreateEc();
            await Handshake.SampleAsync(client, key);
            Assert.Equal(secret, key.Decrypt(await client.GetResourceAsync("default/model/gone")));

            Directory.Delete(Path.Combine(hsm, "tokens"), recursive: true);
            File.Delete(Path.Combine(hsm, "softhsm2.conf"));
            for (var attempt = 0; attempt < 2; attempt++)
            {
                // The first request finds the token gone; the second reconnects, and finds nothing either.
                using var r = await http.GetAsync(new Uri("kbs/v0/resource/default/model/gone", UriKind.Relative));
                Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
                var body = await r.Content.ReadAsStringAsync();
                using var problem = JsonDocument.Parse(body);
                Assert.Equal("MasterKeyUnavailable", problem.RootElement.GetProperty("title").GetString());
                Assert.Contains("veil-gone", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
                Assert.DoesNotContain(Convert.ToBase64String(secret), body, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(hsm, recursive: true);
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Theory]
    [InlineData("wrong-pin", "(the PIN was refused)")]
    [InlineData("elsewhere", "in C_Initialize) (the module did not start: check its configuration, for SoftHSM2 SOFTHSM2_CONF)")]
    public async Task A_wrong_pin_or_a_config_pointing_elsewhere_stops_the_start_with_a_named_error(string fault, string expected)
    {
        var hsm = Directory.CreateTempSubdirectory("veil-hsm-bad-").FullName;
        var dataDir = Directory.CreateTempSubdirectory("veil-broker-bad-").FullName;
        try
        {
            var uri = SoftHsmToken.Script("init", hsm, "veil-bad").Trim();
            BrokerInit.Run(dataDir, TimeSpan.FromDays(1), TimeProvider.System);
            var env = new Dictionary<string, string?> { ["SOFTHSM2_CONF"] = fault == "elsewhere" ? "/nonexistent/softhsm2.conf" : Path.Combine(hsm, "softhsm2.conf") };
            const string WrongPin = "NotThePin-31337";
            if (fault == "wrong-pin")
            {
                uri = uri[..uri.IndexOf("&pin-source", StringComparison.Ordinal)] + "&pin-source=env:BAD_PIN";
                env["BAD_PIN"] = WrongPin;
            }

            using var broker = VeilProcess.StartWith(env, "broker", "serve", "--data-dir", dataDir, "--urls", "http://127.0.0.1:0", "--master-key", uri);
            Assert.NotEqual(0, await broker.ExitAsync());
            var output = string.Join("\n", broker.Lines);
            Assert.Contains("veil: --master-key: ", output, StringComparison.Ordinal);
            Assert.Contains(expected, output, StringComparison.Ordinal);
            Assert.DoesNotContain(WrongPin, output, StringComparison.Ordinal);
            Assert.DoesNotContain(File.ReadAllText(Path.Combine(hsm, "pin")).Trim(), output, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", output, StringComparison.Ordinal); // one line, no stack trace
        }
        finally
        {
            Directory.Delete(hsm, recursive: true);
            Directory.Delete(dataDir, recursive: true);
        }
    }
}
