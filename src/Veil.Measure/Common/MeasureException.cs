namespace Veil.Measure;

/// <summary>
/// An artifact (firmware image, kernel, key, init-data file) or an option that cannot be measured.
/// Names the field and the reason so the operator knows which input to fix.
/// </summary>
public sealed class MeasureException : Exception
{
    public MeasureException(string field, string reason)
        : base($"{field}: {reason}")
    {
        Field = field;
        Reason = reason;
    }

    public MeasureException()
        : this("input", "cannot be measured")
    {
    }

    public MeasureException(string message)
        : this("input", message)
    {
    }

    public MeasureException(string message, Exception inner)
        : base($"input: {message}", inner)
    {
        Field = "input";
        Reason = message;
    }

    /// <summary>The input or option that was wrong, e.g. <c>ovmf.footer</c> or <c>--vcpus</c>.</summary>
    public string Field { get; } = "input";

    /// <summary>Why it was rejected.</summary>
    public string Reason { get; } = "";
}
