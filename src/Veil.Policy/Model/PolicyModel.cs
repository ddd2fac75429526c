using System.Text.RegularExpressions;

namespace Veil.Policy.Model;

/// <summary>Where something was written: file and 1-based line, printed as <c>file:line</c>.</summary>
public sealed record SourceLocation(string File, int Line)
{
    public override string ToString() => $"{File}:{Line}";
}

/// <summary>The AR4SI trust-vector components (draft-ietf-rats-ar4si), in their canonical order.</summary>
public enum TrustComponent
{
    InstanceIdentity,
    Configuration,
    Executables,
    FileSystem,
    Hardware,
    RuntimeOpaque,
    StorageOpaque,
    SourcedData,
}

/// <summary>What failing a rule means for its trust-vector component.</summary>
public enum Severity
{
    Warning,
    Contraindicated,
}

/// <summary>The comparison a rule makes.</summary>
public enum RuleOperator
{
    Equals,
    NotEquals,
    OneOf,
    GreaterOrEqual,
    Greater,
    LessOrEqual,
    Less,
    VersionAtLeast,
    VersionAtMost,
    Matches,
    InSet,
    Exists,
}

/// <summary>A comparison of one claim, used as a rule's test and as its optional <c>when</c> guard.</summary>
public sealed record Condition(string Claim, RuleOperator Operator, object? Expected, IReadOnlyList<object> ExpectedList, Regex? Pattern, string? SetName, SourceLocation Source);

/// <summary>One rule of a submodule: a named test of a claim, the trust component it speaks to and its severity.</summary>
public sealed record PolicyRule(
    string Name,
    Condition Test,
    TrustComponent Trust,
    Severity Severity,
    Condition? When,
    bool IfPresent,
    SourceLocation Source);

/// <summary>The kinds of submodule a policy appraises; each GPU or switch is its own submodule (gpu0, gpu1, ...).</summary>
public enum SubmoduleKind
{
    Cpu,
    Gpu,
    Switch,
}

/// <summary>The rules for one kind of submodule, the TEEs it accepts, and how many devices must be present.</summary>
public sealed record SubmodulePolicy(SubmoduleKind Kind, IReadOnlyList<string> AcceptedTees, int MinCount, IReadOnlyList<PolicyRule> Rules, SourceLocation? Source = null);

/// <summary>A loaded, validated attestation policy with the reference values its rules look up.</summary>
public sealed record AttestationPolicy(
    string Name,
    string File,
    IReadOnlyDictionary<SubmoduleKind, SubmodulePolicy> Submodules,
    IReadOnlyList<string> ReferenceSetsUsed,
    Veil.Policy.ReferenceValues.IReferenceValueStore ReferenceValues)
{
    /// <summary>The policy id as it appears in EAR (<c>ear.appraisal-policy-id</c>).</summary>
    public string Id => $"veil:{Name}";
}
