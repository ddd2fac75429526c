using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Veil.Kubernetes.Hosting;

namespace Veil.Kubernetes.Tests;

/// <summary>The real webhook server on 127.0.0.1 over HTTPS with a self-signed certificate, as the API server would call it.</summary>
public sealed class ServerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("veil-admission-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (string Cert, string Key, X509Certificate2 Certificate) SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=veil-admission.veil.svc", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("veil-admission.veil.svc");
        request.CertificateExtensions.Add(san.Build());
        var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var certPath = Path.Combine(_dir, "tls.crt");
        var keyPath = Path.Combine(_dir, "tls.key");
        File.WriteAllText(certPath, cert.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certPath, keyPath, cert);
    }

    [Fact]
    public async Task Validate_mutate_healthz_and_problems_over_https()
    {
        var (certPath, keyPath, cert) = SelfSigned();
        using var _ = cert;
        var logs = new ListLoggerProvider();
        var options = new AdmissionServerOptions
        {
            Urls = ["https://127.0.0.1:0"],
            TlsCertificatePath = certPath,
            TlsKeyPath = keyPath,
            Webhook = new WebhookOptions { BrokerUrl = new Uri("https://veil-broker.veil.svc:8443/") },
        };
        await using var server = await AdmissionServer.StartAsync(options, b => b.Logging.ClearProviders().AddProvider(logs), CancellationToken.None);
        using var handler = new HttpClientHandler
        {
            // Trust exactly this certificate, as the caBundle makes the API server do.
            ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented is not null && presented.RawData.AsSpan().SequenceEqual(cert.RawData),
        };
        using var http = new HttpClient(handler) { BaseAddress = server.Addresses[0] };
        Assert.Equal("https", server.Addresses[0].Scheme);

        Assert.Equal("ok\n", await http.GetStringAsync(new Uri("/healthz", UriKind.Relative)));

        var denied = await PostAsync(http, "/validate", Fixtures.Bytes(Fixtures.Review(Fixtures.GpuPod().WithRuntimeClass("kata-qemu-nvidia-gpu"))));
        Assert.Equal(HttpStatusCode.OK, denied.Status);
        Assert.Equal(Fixtures.Uid, denied.Body!["response"]!["uid"]!.GetValue<string>());
        Assert.False(denied.Body["response"]!["allowed"]!.GetValue<bool>());
        Assert.Contains("CC-off", denied.Body["response"]!["status"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        var sealedPod = Fixtures.GpuPod().WithRuntimeClass("kata-qemu-nvidia-gpu-tdx").Annotate("veil.dev/sealed-model", "/models/llama.veil");
        var mutated = await PostAsync(http, "/mutate", Fixtures.Bytes(Fixtures.Review(sealedPod)));
        Assert.True(mutated.Body!["response"]!["allowed"]!.GetValue<bool>());
        var patch = JsonNode.Parse(Convert.FromBase64String(mutated.Body["response"]!["patch"]!.GetValue<string>()))!.AsArray();
        var patched = JsonPatchApplier.Apply(sealedPod, patch);
        var allowed = await PostAsync(http, "/validate", Fixtures.Bytes(Fixtures.Review(patched)));
        Assert.True(allowed.Body!["response"]!["allowed"]!.GetValue<bool>());

        var bad = await PostAsync(http, "/validate", Encoding.UTF8.GetBytes("""{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"kind":{"kind":"Pod"}}}"""));
        Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
        Assert.Equal("application/problem+json", bad.ContentType);
        Assert.Equal("request.uid", bad.Body!["field"]!.GetValue<string>());
        Assert.Equal(400, bad.Body["status"]!.GetValue<int>());

        var truncated = await PostAsync(http, "/mutate", Encoding.UTF8.GetBytes("{\"apiVersion\":"));
        Assert.Equal(HttpStatusCode.BadRequest, truncated.Status);
        Assert.Equal("$", truncated.Body!["field"]!.GetValue<string>());

        var lines = logs.Lines;
        Assert.Contains(lines, l => l.Contains($"uid={Fixtures.Uid} ml/llm-* Pod CREATE: denied", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("allowed (patched)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("malformed review: request.uid", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains(Fixtures.SecretEnv, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("http://127.0.0.1:0", "HTTPS only")]
    [InlineData("https://webhook.example:8443", "IP address")]
    public async Task Plain_http_and_host_names_are_refused_at_start(string url, string expected)
    {
        var (certPath, keyPath, cert) = SelfSigned();
        using var _ = cert;
        var e = await Assert.ThrowsAsync<WebhookConfigurationException>(() =>
            AdmissionServer.StartAsync(new AdmissionServerOptions { Urls = [url], TlsCertificatePath = certPath, TlsKeyPath = keyPath }, CancellationToken.None));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_certificate_is_a_typed_error_without_key_material()
    {
        var e = await Assert.ThrowsAsync<WebhookConfigurationException>(() =>
            AdmissionServer.StartAsync(new AdmissionServerOptions { Urls = ["https://127.0.0.1:0"], TlsCertificatePath = Path.Combine(_dir, "none.crt"), TlsKeyPath = Path.Combine(_dir, "none.key") }, CancellationToken.None));
        Assert.StartsWith("--tls-cert/--tls-key", e.Message, StringComparison.Ordinal);
    }

    private static async Task<(HttpStatusCode Status, string? ContentType, JsonNode? Body)> PostAsync(HttpClient http, string path, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await http.PostAsync(new Uri(path, UriKind.Relative), content);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType, JsonNode.Parse(text));
    }

    /// <summary>Collects formatted log lines.</summary>
    private sealed class ListLoggerProvider : ILoggerProvider, ILogger
    {
        private readonly List<string> _lines = [];

        public IReadOnlyList<string> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_lines)
            {
                _lines.Add(formatter(state, exception));
            }
        }

        public void Dispose()
        {
        }
    }
}
