namespace Veil.Kubernetes.Admission;

/// <summary>A malformed AdmissionReview: <see cref="Field"/> is the JSON path of the problem, never a value from the pod.</summary>
public sealed class AdmissionReviewException : Exception
{
    public AdmissionReviewException(string field, string reason)
        : base($"{field}: {reason}")
    {
        Field = field;
        Reason = reason;
    }

    public AdmissionReviewException()
        : this("$", "malformed AdmissionReview")
    {
    }

    public AdmissionReviewException(string message)
        : this("$", message)
    {
    }

    public AdmissionReviewException(string message, Exception inner)
        : base(message, inner)
    {
        Field = "$";
        Reason = message;
    }

    public string Field { get; } = "$";

    public string Reason { get; } = "";
}
