namespace Veil.Kubernetes.Admission;

/// <summary>One review in, one review out: the same code path for /validate and /mutate, for the server and tests.</summary>
public sealed class AdmissionHandler(WebhookOptions options)
{
    private readonly PodValidator _validator = new(options);
    private readonly PodMutator _mutator = new(options);

    public WebhookOptions Options => options;

    /// <summary>Throws <see cref="AdmissionReviewException"/> for a malformed review (answered with 400).</summary>
    public (AdmissionRequest Request, AdmissionDecision Decision, byte[] Response) Handle(ReadOnlySpan<byte> body, bool mutate)
    {
        var request = AdmissionReviewReader.Read(body);
        var decision = mutate ? _mutator.Mutate(request) : _validator.Validate(request);
        return (request, decision, AdmissionResponseWriter.Write(request, decision));
    }
}
