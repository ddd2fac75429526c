using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Logging;
using Veil.Broker.Hosting;
using Veil.Broker.Keys;
using Veil.Broker.Tests.Support;
using Veil.Protocol.Client;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>HTTPS with a configured certificate: the handshake works over TLS and the client sees that certificate.</summary>
public sealed class HttpsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("veil-https-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Handshake_over_https_with_the_configured_certificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=veil-broker-test", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var certPath = Path.Combine(_dir, "cert.pem");
        var keyPath = Path.Combine(_dir, "key.pem");
        File.WriteAllText(certPath, cert.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        SecretLedger.Add("tls key", key.ExportPkcs8PrivateKeyPem().Split('\n')[1]);

        var dataDir = Path.Combine(_dir, "data");
        BrokerInit.Run(dataDir, TimeSpan.FromDays(1), TimeProvider.System);
        TestBroker.RegisterKeyFiles(dataDir);
        var options = new BrokerOptions { DataDir = dataDir, Urls = ["https://127.0.0.1:0"], AllowSample = true, Policy = "sample", TlsCertificatePath = certPath, TlsKeyPath = keyPath };
        await using var host = await BrokerHost.StartAsync(options, b =>
        {
            b.Logging.ClearProviders();
            b.Logging.AddProvider(LogCapture.Shared);
        }, _ => null, CancellationToken.None);
        Assert.Equal("https", host.Addresses[0].Scheme);

        string? seen = null;
        using var handler = new HttpClientHandler
        {
            CookieContainer = new System.Net.CookieContainer(),
            ServerCertificateCustomValidationCallback = (_, c, _, _) =>
            {
                seen = c?.Thumbprint;
                return c is not null && c.RawData.AsSpan().SequenceEqual(cert.RawData); // pin exactly this certificate
            },
        };
        using var http = new HttpClient(handler) { BaseAddress = host.Addresses[0] };
        using (var admin = new HttpRequestMessage(HttpMethod.Post, new Uri("kbs/v0/resource/default/tls/key", UriKind.Relative)))
        {
            admin.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", File.ReadAllText(Path.Combine(dataDir, "admin.token")).Trim());
            admin.Content = new ByteArrayContent(Encoding.UTF8.GetBytes("served-over-tls-0001"));
            SecretLedger.Add("resource default/tls/key", "served-over-tls-0001");
            using var r = await http.SendAsync(admin);
            r.EnsureSuccessStatusCode();
        }

        using var tee = TeeKey.CreateEc();
        var value = await new KbsClient(http).GetWithSampleTeeAsync("default/tls/key", tee);
        Assert.Equal("served-over-tls-0001", Encoding.UTF8.GetString(value));
        Assert.Equal(cert.Thumbprint, seen);
        foreach (System.Net.Cookie c in handler.CookieContainer.GetAllCookies())
        {
            SecretLedger.Add("session id", c.Value);
            Assert.True(c.Secure, "session cookie must be Secure over HTTPS");
            Assert.True(c.HttpOnly);
        }
    }
}
