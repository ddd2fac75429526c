using Veil.Policy.Model;

namespace Veil.Policy;

/// <summary>
/// A policy, reference-value or resource-policy document that cannot be used. Always names the file and
/// line (<c>strict.yaml:12: unknown claim 'snp.polcy.debug'</c>) so the author can fix it; a wrong policy
/// is rejected when loaded, never half-applied.
/// </summary>
public sealed class PolicyLoadException : Exception
{
    public PolicyLoadException(SourceLocation source, string reason)
        : base($"{source}: {reason}")
    {
        Source = source;
        Reason = reason;
    }

    public PolicyLoadException()
        : this(new SourceLocation("policy", 0), "invalid")
    {
    }

    public PolicyLoadException(string message)
        : this(new SourceLocation("policy", 0), message)
    {
    }

    public PolicyLoadException(string message, Exception inner)
        : base(message, inner)
    {
        Source = new SourceLocation("policy", 0);
        Reason = message;
    }

    /// <summary>File and line of the offending text.</summary>
    public new SourceLocation Source { get; }

    public string Reason { get; }
}
