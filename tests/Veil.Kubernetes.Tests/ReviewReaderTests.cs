using System.Text;
using System.Text.Json.Nodes;
using Veil.Kubernetes.Admission;

namespace Veil.Kubernetes.Tests;

public sealed class ReviewReaderTests
{
    private readonly AdmissionHandler _handler = new(new WebhookOptions { BrokerUrl = new Uri("https://veil-broker.veil.svc:8443/") });

    [Fact]
    public void Reads_a_real_shaped_request()
    {
        var r = AdmissionReviewReader.Read(Fixtures.Bytes(Fixtures.Review(Fixtures.GpuPod())));
        Assert.Equal(Fixtures.Uid, r.Uid);
        Assert.Equal("Pod", r.Kind);
        Assert.Equal("CREATE", r.Operation);
        Assert.Equal("ml", r.Namespace);
        Assert.True(r.IsJudgedPod);
    }

    public static TheoryData<string, string> Malformed() => new()
    {
        { """{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"kind":{"kind":"Pod"},"operation":"CREATE","object":{"spec":{}}}}""", "request.uid" },
        { """{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"","kind":{"kind":"Pod"},"operation":"CREATE","object":{"spec":{}}}}""", "request.uid" },
        { """{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":7,"kind":{"kind":"Pod"},"operation":"CREATE","object":{"spec":{}}}}""", "request.uid" },
        { """{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE","object":{"spec":{}}}}""", "apiVersion" },
        { """{"kind":"AdmissionReview","request":{"uid":"u"}}""", "apiVersion" },
        { """{"apiVersion":"admission.k8s.io/v1","kind":"Pod","request":{"uid":"u"}}""", "kind" },
        { """{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}""", "request" },
        { """{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":[]}""", "request" },
        { """{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE"}}""", "request.kind" },
        { """{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"}}}""", "request.operation" },
        { """{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE","object":"pod"}}""", "request.object" },
        { """{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE","object":[1]}}""", "request.object" },
        { """{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE"}}""", "request.object" },
        { """{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE","object":{"kind":"Service","spec":{}}}}""", "request.object.kind" },
        { """{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE","object":{"kind":"Pod"}}}""", "request.object.spec" },
        { """{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE","object":{"spec":{""", "$" },
        { "[1,2,3]", "$" },
        { "", "$" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_reviews_are_typed_errors_naming_the_field(string json, string field)
    {
        var e = Assert.Throws<AdmissionReviewException>(() => _handler.Handle(Encoding.UTF8.GetBytes(json), mutate: false));
        Assert.Equal(field, e.Field);
        Assert.StartsWith(field + ": ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_utf8_and_duplicate_keys_are_refused_as_such()
    {
        var review = Fixtures.Bytes(Fixtures.Review(Fixtures.GpuPod()));
        var uid = Encoding.UTF8.GetBytes(Fixtures.Uid);
        var at = review.AsSpan().IndexOf(uid);
        var broken = review.ToArray();
        broken[at + 3] = 0xC3; // a lead byte without its continuation, inside the uid string
        var e = Assert.Throws<AdmissionReviewException>(() => AdmissionReviewReader.Read(broken));
        Assert.Equal(("$", "not valid UTF-8"), (e.Field, e.Reason));

        // Two "runtimeClassName" keys: the API server's decoder and ours must not be able to pick different ones.
        var twice = Encoding.UTF8.GetString(review).Replace("\"containers\"", "\"runtimeClassName\":\"kata-qemu-nvidia-gpu-snp\",\"runtimeClassName\":\"runc\",\"containers\"", StringComparison.Ordinal);
        e = Assert.Throws<AdmissionReviewException>(() => AdmissionReviewReader.Read(Encoding.UTF8.GetBytes(twice)));
        Assert.Equal("$", e.Field);
        Assert.StartsWith("not valid JSON", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncations_of_a_real_review_never_crash()
    {
        var bytes = Fixtures.Bytes(Fixtures.Review(Fixtures.GpuPod()));
        for (var n = 0; n < bytes.Length; n += 7)
        {
            Assert.Throws<AdmissionReviewException>(() => _handler.Handle(bytes.AsSpan(0, n), mutate: true));
        }
    }

    [Fact]
    public void Wrongly_typed_pod_fields_are_typed_errors_with_their_path()
    {
        var pod = Fixtures.GpuPod();
        pod["spec"]!["volumes"] = new JsonObject();
        var e = Assert.Throws<AdmissionReviewException>(() => _handler.Handle(Fixtures.Bytes(Fixtures.Review(pod)), mutate: false));
        Assert.Equal("spec.volumes", e.Field);

        pod = Fixtures.GpuPod();
        pod["spec"]!["hostPID"] = "yes";
        e = Assert.Throws<AdmissionReviewException>(() => _handler.Handle(Fixtures.Bytes(Fixtures.Review(pod)), mutate: false));
        Assert.Equal("spec.hostPID", e.Field);
    }

    [Theory]
    [InlineData("Deployment", "CREATE", null)]
    [InlineData("ConfigMap", "UPDATE", null)]
    [InlineData("Pod", "DELETE", null)]
    [InlineData("Pod", "CONNECT", null)]
    [InlineData("Pod", "UPDATE", "status")]
    public void Anything_but_a_pod_create_or_update_is_allowed_unchanged(string kind, string operation, string? sub)
    {
        // A violating GPU pod body: only the kind/operation make it pass.
        var review = Fixtures.Review(kind == "Pod" ? Fixtures.GpuPod() : new JsonObject { ["kind"] = kind, ["spec"] = new JsonObject() }, operation, kind, subResource: sub);
        foreach (var mutate in (bool[])[false, true])
        {
            var (_, decision, response) = _handler.Handle(Fixtures.Bytes(review), mutate);
            Assert.True(decision.Allowed);
            var r = JsonNode.Parse(response)!["response"]!;
            Assert.True(r["allowed"]!.GetValue<bool>());
            Assert.Null(r["patch"]);
        }
    }

    [Fact]
    public void Response_echoes_version_kind_and_uid_and_carries_the_denial()
    {
        var (_, _, bytes) = _handler.Handle(Fixtures.Bytes(Fixtures.Review(Fixtures.GpuPod())), mutate: false);
        var review = JsonNode.Parse(bytes)!;
        Assert.Equal("admission.k8s.io/v1", review["apiVersion"]!.GetValue<string>());
        Assert.Equal("AdmissionReview", review["kind"]!.GetValue<string>());
        Assert.Equal(Fixtures.Uid, review["response"]!["uid"]!.GetValue<string>());
        Assert.False(review["response"]!["allowed"]!.GetValue<bool>());
        Assert.Equal(403, review["response"]!["status"]!["code"]!.GetValue<int>());
        Assert.Contains("spec.runtimeClassName", review["response"]!["status"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain(Fixtures.SecretEnv, Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
    }
}
