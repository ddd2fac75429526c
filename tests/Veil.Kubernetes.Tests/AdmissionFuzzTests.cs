using System.Text;
using Veil.Kubernetes.Admission;
using Veil.Kubernetes.InitData;
using Veil.Tests.Shared;

namespace Veil.Kubernetes.Tests;

/// <summary>
/// Mutated AdmissionReviews through both webhook paths: every input gives a response or a typed refusal that names a
/// field, never another exception (the server would answer 500, which the API server also takes as a refusal, but
/// without a reason the user can act on).
/// </summary>
public sealed class AdmissionFuzzTests
{
    [Fact]
    public void Mutated_reviews_get_a_decision_or_a_named_refusal()
    {
        var initData = KataInitData.Encode(Encoding.UTF8.GetBytes(KataInitData.Document(new Uri("https://10.96.0.20:8443/"), null, "sha384")));
        var sealedPod = Fixtures.GpuPod().WithRuntimeClass("kata-qemu-nvidia-gpu-snp")
            .Annotate("veil.dev/sealed-model", "/models/llama.veil").Annotate("veil.dev/sealed-volume", "weights")
            .Annotate(KataInitData.Annotation, initData);
        byte[][] seeds =
        [
            Fixtures.Bytes(Fixtures.Review(sealedPod)),
            Fixtures.Bytes(Fixtures.Review(Fixtures.GpuPod())),
            Fixtures.Bytes(Fixtures.Review(Fixtures.PlainPod(), "UPDATE")),
        ];
        var handler = new AdmissionHandler(new WebhookOptions());

        var report = new MutationFuzzer(seeds, seed: 20261122).Run(
            input =>
            {
                handler.Handle(input, mutate: true);
                handler.Handle(input, mutate: false);
            },
            e => e is AdmissionReviewException { Field.Length: > 0 },
            maxInputs: 20_000,
            budget: TimeSpan.FromSeconds(4));

        Assert.True(report.Inputs > 500, $"only {report.Inputs} inputs ran");
        Assert.True(report.CrashCount == 0, string.Join("\n", report.Crashes.Take(3).Select(c => $"{c.Exception.GetType().Name}: {c.Exception.Message} <- {Encoding.UTF8.GetString(c.Input)[..Math.Min(300, c.Input.Length)]}")));
    }
}
