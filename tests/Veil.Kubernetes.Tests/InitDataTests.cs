using System.IO.Compression;
using System.Text;
using Veil.Kubernetes.Admission;
using Veil.Kubernetes.InitData;

namespace Veil.Kubernetes.Tests;

public sealed class InitDataTests
{
    private const string Ca = "-----BEGIN CERTIFICATE-----\nMIIBmTCCAT6gAwIBAgIU\n-----END CERTIFICATE-----\n";
    private static readonly Uri Broker = new("https://10.96.0.20:8443/");

    private static string Gzip64(byte[] bytes)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest))
        {
            gzip.Write(bytes);
        }

        return Convert.ToBase64String(buffer.ToArray());
    }

    [Fact]
    public void The_document_points_the_attestation_agent_and_cdh_at_the_broker()
    {
        var doc = KataInitData.Document(Broker, Ca, "sha256");

        Assert.StartsWith("algorithm = \"sha256\"\nversion = \"0.1.0\"\n\n[data]\n", doc, StringComparison.Ordinal);
        Assert.Contains("[token_configs.kbs]\nurl = 'https://10.96.0.20:8443'\ncert = \"\"\"\n-----BEGIN CERTIFICATE-----", doc, StringComparison.Ordinal);
        Assert.Contains("[kbc]\nname = 'cc_kbc'\nurl = 'https://10.96.0.20:8443'\nkbs_cert = \"\"\"\n-----BEGIN CERTIFICATE-----", doc, StringComparison.Ordinal);
        Assert.DoesNotContain("cert", KataInitData.Document(Broker, null, "sha384"), StringComparison.Ordinal);
    }

    [Fact]
    public void The_annotation_decodes_to_exactly_the_documents_bytes()
    {
        var bytes = Encoding.UTF8.GetBytes(KataInitData.Document(Broker, Ca, "sha384"));
        var annotation = KataInitData.Encode(bytes);

        Assert.Equal(bytes, KataInitData.Decode(annotation));
        Assert.Equal(bytes, KataInitData.Decode(Gzip64(bytes))); // what `gzip | base64` in CoCo's guides makes
    }

    [Theory]
    [InlineData("sha1", "--alg")]
    [InlineData("SHA384", "--alg")]
    public void Unknown_algorithms_are_refused(string alg, string named) =>
        Assert.Contains(named, Assert.Throws<WebhookConfigurationException>(() => KataInitData.Document(Broker, null, alg)).Message, StringComparison.Ordinal);

    [Fact]
    public void Values_that_would_break_the_toml_are_refused()
    {
        Assert.Throws<WebhookConfigurationException>(() => KataInitData.Document(new Uri("https://kbs.example/a'b"), null, "sha384"));
        Assert.Throws<WebhookConfigurationException>(() => KataInitData.Document(Broker, "not a pem", "sha384"));
        Assert.Throws<WebhookConfigurationException>(() => KataInitData.Document(Broker, Ca + "'''\n", "sha384"));
    }

    [Fact]
    public void Bad_annotation_values_are_named()
    {
        Assert.Equal("not base64", Assert.Throws<InvalidDataException>(() => KataInitData.Decode("%%%")).Message);
        Assert.Equal("not gzip data", Assert.Throws<InvalidDataException>(() => KataInitData.Decode(Convert.ToBase64String("plain toml"u8.ToArray()))).Message);
        Assert.Equal("empty init-data", Assert.Throws<InvalidDataException>(() => KataInitData.Decode("H4sIAAAAAAAAAwMAAAAAAAAAAAA=") /* gzip -n of nothing */).Message);
        Assert.Equal("the init-data is not UTF-8 text", Assert.Throws<InvalidDataException>(() => KataInitData.Decode(Gzip64([0xff, 0xfe, 0x00]))).Message);
        Assert.Contains("expands to more than", Assert.Throws<InvalidDataException>(() => KataInitData.Decode(Gzip64(new byte[KataInitData.MaxDocumentBytes + 1]))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_truncation_of_an_annotation_is_refused()
    {
        var bytes = Encoding.UTF8.GetBytes(KataInitData.Document(Broker, Ca, "sha384"));
        var compressed = Convert.FromBase64String(KataInitData.Encode(bytes));
        for (var n = 0; n < compressed.Length; n++)
        {
            var cut = Convert.ToBase64String(compressed, 0, n);
            Assert.Throws<InvalidDataException>(() => KataInitData.Decode(cut));
        }
    }

    private static AdmissionDecision Validate(WebhookOptions options, string? initData)
    {
        var pod = Fixtures.GpuPod().WithRuntimeClass("kata-qemu-nvidia-gpu-snp").Annotate("veil.dev/sealed-model", "/models/llama.veil");
        if (initData is not null)
        {
            pod.Annotate(KataInitData.Annotation, initData);
        }

        return new PodValidator(options).Validate(Fixtures.Request(pod));
    }

    [Fact]
    public void A_sealed_model_pod_without_init_data_is_allowed_with_a_warning()
    {
        var d = Validate(new WebhookOptions(), null);

        Assert.True(d.Allowed);
        Assert.Contains(d.Warnings, w => w.Contains("no io.katacontainers.config.hypervisor.cc_init_data annotation", StringComparison.Ordinal));
    }

    [Fact]
    public void Init_data_kata_cannot_decode_is_refused_naming_the_annotation()
    {
        var d = Validate(new WebhookOptions(), "H4sIAAAA-broken");

        Assert.False(d.Allowed);
        Assert.Contains("metadata.annotations[io.katacontainers.config.hypervisor.cc_init_data]: not base64", d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Valid_init_data_passes_silently_and_broker_mode_does_not_look_for_it()
    {
        var good = KataInitData.Encode(Encoding.UTF8.GetBytes(KataInitData.Document(Broker, null, "sha384")));
        var d = Validate(new WebhookOptions(), good);
        Assert.True(d.Allowed);
        Assert.Empty(d.Warnings);

        var broker = Validate(new WebhookOptions { KeySource = UnsealKeySource.Broker, BrokerUrl = Broker }, null);
        Assert.True(broker.Allowed);
        Assert.Empty(broker.Warnings);
    }

    [Fact]
    public void A_gzip_trailer_whose_crc_or_length_does_not_match_is_refused()
    {
        var compressed = Convert.FromBase64String(KataInitData.Encode(Encoding.UTF8.GetBytes(KataInitData.Document(Broker, Ca, "sha384"))));
        Assert.NotEmpty(KataInitData.Decode(Convert.ToBase64String(compressed)));
        foreach (var fromEnd in new[] { 8, 5, 4, 1 })
        {
            var bad = (byte[])compressed.Clone();
            bad[^fromEnd] ^= 0x01;
            Assert.Throws<InvalidDataException>(() => KataInitData.Decode(Convert.ToBase64String(bad)));
        }
    }
}
